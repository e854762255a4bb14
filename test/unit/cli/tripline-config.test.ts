import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadTriplineConfig } from '../../../cli/tripline-config.js';
import { ConfigError } from '../../../lib/config-problems.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tripline-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  const file = join(dir, `c-${Math.random()}.yaml`);
  writeFileSync(file, yaml);
  try {
    loadTriplineConfig({ file, env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('tripline.yaml', () => {
  it('accepts the documented example (secret files aside)', () => {
    // The example names secret files that exist only in a deployment; everything else must parse.
    const problems = problemsOf(readFileSync(join(ROOT, 'docs/tripline.example.yaml'), 'utf8'));
    expect(problems.filter((p) => !/hmacSecretFile: cannot be read/.test(p))).toEqual([]);
  });

  it('accepts the agent and collector configs the Kubernetes deployment ships', () => {
    const configMap = parseYaml(readFileSync(join(ROOT, 'deploy/base/config/configmap.yaml'), 'utf8')) as {
      data: Record<string, string>;
    };
    const env = { NODE_NAME: 'node-1', POD_NAMESPACE: 'tripline', TRIPLINE_DATA_DIR: dir };
    const load = (name: string) => {
      const file = join(dir, name);
      writeFileSync(file, configMap.data[name]!);
      return loadTriplineConfig({ file, env });
    };
    expect(load('agent.yaml').agentKubernetes?.nodeName).toBe('node-1');
    expect(load('collector.yaml').collector.kubernetes?.kubeconfig).toBe('in-cluster');
  });

  it('lists every problem in every section at once', () => {
    const problems = problemsOf(`
logLevel: loud
colour: blue
ingest: { listen: "nowhere" }
policy: { mode: watch, learning: { stableFor: soon } }
enrich: { networks: { "300.1.1.0/24": public } }
sinks:
  - { id: a, type: carrier-pigeon }
  - { id: b, type: webhook, url: "ftp://x" }
`);
    const text = problems.join('\n');
    expect(text).toMatch(/^logLevel: must be one of/m);
    expect(text).toMatch(/^colour: unknown setting/m);
    expect(text).toMatch(/^ingest\.listen:/m);
    expect(text).toMatch(/^policy\.mode:/m);
    expect(text).toMatch(/^policy\.learning\.stableFor:/m);
    expect(text).toMatch(/enrich\.networks/);
    expect(text).toMatch(/^sinks\[0\]\.type: must be one of/m);
    expect(text).toMatch(/^sinks\[1\]\.url:/m);
  });

  it('applies TRIPLINE__ environment overrides with YAML types', () => {
    const file = join(dir, 'env.yaml');
    writeFileSync(file, 'policy: { mode: learn }\n');
    const config = loadTriplineConfig({
      file,
      env: { TRIPLINE__policy__mode: 'detect', TRIPLINE__policy__learning__stableFor: '30s', TRIPLINE_DATA_DIR: dir },
    });
    expect(config.collector.policy.mode).toBe('detect');
    expect(config.collector.policy.learning.stableForMs).toBe(30_000);
    expect(config.dataDir).toBe(dir);
    expect(config.agent.spool.dir).toBe(join(dir, 'spool'));
  });

  it('reports an unreadable or non-YAML file clearly', () => {
    expect(() => loadTriplineConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(
      /cannot read config file: ENOENT/,
    );
    expect(problemsOf('a: [1, 2')[0]).toMatch(/not valid YAML/);
  });
});
