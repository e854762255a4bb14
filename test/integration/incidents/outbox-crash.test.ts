import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentPipeline } from '../../../collector/incidents/create-incident-pipeline.js';
import { parseIncidentPipelineConfig } from '../../../collector/incidents/incident-pipeline-config.js';
import { parseWebhookSinkConfig } from '../../../collector/sinks/webhook/webhook-config.js';
import { createWebhookSink } from '../../../collector/sinks/webhook/webhook-sink.js';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { startHttpsReceiver } from '../../helpers/https-receiver.js';
import { waitFor } from '../../helpers/wait.js';
import { finding } from '../../unit/collector/incidents/finding-fixture.js';

const SECRET = 'kill -9 test secret value';
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('outbox durability', () => {
  it('a pipeline killed with -9 while holding a backlog delivers everything after restart', async () => {
    const r = await startHttpsReceiver({ secret: SECRET });
    cleanup.push(() => r.close());
    r.respond = () => ({ status: 503 });
    const dataDir = mkdtempSync(join(tmpdir(), 'tripline-crash-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const sink = {
      id: 'soc',
      type: 'webhook',
      url: r.url,
      hmacSecret: SECRET,
      maxBatch: 50,
      tls: { caFile: r.caFile },
    };
    const count = 500;

    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, TRIPLINE_CRASH_CHILD: JSON.stringify({ dataDir, sink, count }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    cleanup.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited.then(() => undefined);
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes('submitted'), { timeoutMs: 20_000, what: 'the child to submit' });
    await waitFor(() => r.requests.length >= 1, { timeoutMs: 10_000, what: 'a first (refused) delivery attempt' });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(r.accepted.size).toBe(0);

    r.respond = () => ({ status: 200 });
    const problems = new Problems();
    const sinkConfig = parseWebhookSinkConfig(sink, 'sink', problems);
    const config = parseIncidentPipelineConfig({ outbox: { fsyncInterval: '2ms' } }, problems);
    problems.throwIfAny();
    const log = silentLogger();
    const registry = new Registry();
    const p = createIncidentPipeline({
      log,
      registry,
      dataDir,
      config,
      sinks: [createWebhookSink(sinkConfig, { log, registry })],
    });
    p.start();
    cleanup.push(() => p.stop());

    await waitFor(() => r.accepted.size === count, { timeoutMs: 20_000, what: `${count} incidents at the receiver` });
    expect(r.duplicates).toEqual([]);
    expect(p.list({ limit: 10_000 })).toHaveLength(count);
    // The revision sequence continues after the crash: a severity rise is revision 2.
    p.submit(finding({ key: '/bin/crash-7', severity: 'critical', score: 95 }));
    const raised = await waitFor(() =>
      [...r.accepted.values()].find((i) => i.key === '/bin/crash-7' && i.revision === 2),
    );
    expect(raised.severity).toBe('critical');
    expect(raised.count).toBeGreaterThanOrEqual(2);
  });
});
