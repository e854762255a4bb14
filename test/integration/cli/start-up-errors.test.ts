/**
 * Start-up failures of the long-running commands: each says exactly what is wrong and
 * exits 1 before doing anything, instead of running blind or half-configured.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const NOBODY = '65534';

describe('start-up errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-nopriv-'));
  chmodSync(dir, 0o777);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tripline agent without privileges names the missing capabilities', () => {
    const run = spawnSync(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
        process.execPath,
        '--import',
        'tsx',
        join(ROOT, 'cli/main.ts'),
        'agent',
        '--print',
        '--data-dir',
        dir,
        '--log-level',
        'warn',
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, HOME: dir, TRIPLINE__agent__metricsListen: '127.0.0.1:0' },
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/eBPF sensor cannot start/);
    expect(run.stderr).toMatch(/missing privileges: .*CAP_BPF\+CAP_PERFMON/);
    expect(run.stdout).toBe('');
  });

  it('tripline up with a broken config lists every problem', () => {
    const config = join(dir, 'broken.yaml');
    writeFileSync(config, 'logLevel: loud\npolicy: { mode: watch }\nsinks: [{ id: x, type: pigeon }]\n');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cli/main.ts'), 'up', '--config', config, '--data-dir', dir],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('tripline: invalid configuration:');
    expect(run.stderr).toMatch(/- logLevel: must be one of/);
    expect(run.stderr).toMatch(/- policy\.mode:/);
    expect(run.stderr).toMatch(/- sinks\[0\]\.type: must be one of/);
  });
});
