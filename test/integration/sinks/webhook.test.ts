import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentPipeline } from '../../../collector/incidents/create-incident-pipeline.js';
import type { IncidentPipeline } from '../../../collector/incidents/incident-pipeline.js';
import { parseIncidentPipelineConfig } from '../../../collector/incidents/incident-pipeline-config.js';
import { parseWebhookSinkConfig } from '../../../collector/sinks/webhook/webhook-config.js';
import { createWebhookSink } from '../../../collector/sinks/webhook/webhook-sink.js';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { startHttpsReceiver, type HttpsReceiver } from '../../helpers/https-receiver.js';
import { waitFor } from '../../helpers/wait.js';
import { finding } from '../../unit/collector/incidents/finding-fixture.js';

const SECRET = 'correct horse battery staple';
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function receiver(opts: { requireClientCert?: boolean } = {}): Promise<HttpsReceiver> {
  const r = await startHttpsReceiver({ secret: SECRET, ...opts });
  cleanup.push(() => r.close());
  return r;
}

function webhookPipeline(r: HttpsReceiver, sink: Record<string, unknown> = {}, delivery: Record<string, unknown> = {}) {
  const problems = new Problems();
  const sinkConfig = parseWebhookSinkConfig(
    {
      id: 'soc',
      type: 'webhook',
      url: r.url,
      hmacSecret: SECRET,
      tls: { caFile: r.caFile, certFile: r.clientCertFile, keyFile: r.clientKeyFile },
      ...sink,
    },
    'sinks[0]',
    problems,
  );
  const config = parseIncidentPipelineConfig(
    {
      outbox: { fsyncInterval: '2ms' },
      delivery: { backoffInitial: '50ms', backoffMax: '200ms', maxAttempts: 1000, ...delivery },
    },
    problems,
  );
  problems.throwIfAny();
  const dataDir = mkdtempSync(join(tmpdir(), 'tripline-webhook-'));
  const registry = new Registry();
  const log = silentLogger();
  const p: IncidentPipeline = createIncidentPipeline({
    log,
    registry,
    dataDir,
    config,
    sinks: [createWebhookSink(sinkConfig, { log, registry })],
  });
  p.start();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  cleanup.push(() => p.stop());
  return { p, registry, dataDir };
}

describe('webhook sink against a real HTTPS receiver', () => {
  it('delivers signed JSON batches over mutual TLS with the configured headers', async () => {
    const r = await receiver({ requireClientCert: true });
    const { p } = webhookPipeline(r, { headers: { Authorization: 'Bearer abc' } });
    for (let i = 0; i < 20; i++) p.submit(finding({ key: `/bin/x${i}` }));
    await waitFor(() => r.accepted.size === 20);
    expect(r.requests.every((q) => q.verified && q.status === 200)).toBe(true);
    const q = r.requests[0]!;
    expect(q.headers['content-type']).toBe('application/json');
    expect(q.headers.authorization).toBe('Bearer abc');
    expect(q.headers['x-tripline-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    const first = [...r.accepted.values()][0]!;
    expect(first).toMatchObject({ schema: 'tripline.incident/v1', rule: 'unexpected-exec', revision: 1, count: 1 });
    expect(first.idempotencyKey).toBe(`${first.id}:1`);
    expect(r.requests.length).toBeLessThan(20); // batched
  });

  it('sends one incident per request with its idempotency key header when batching is off', async () => {
    const r = await receiver();
    const { p } = webhookPipeline(r, { batch: false });
    for (let i = 0; i < 3; i++) p.submit(finding({ key: `/bin/y${i}` }));
    await waitFor(() => r.accepted.size === 3);
    expect(r.requests).toHaveLength(3);
    for (const q of r.requests) {
      expect(q.incidents).toHaveLength(1);
      expect(q.headers['x-tripline-idempotency-key']).toBe(q.incidents[0]!.idempotencyKey);
    }
  });

  it('receiver down for a while, then up: every incident arrives exactly once, none lost', async () => {
    const r = await receiver();
    let up = false;
    r.respond = () => (up ? { status: 200 } : { status: 503 });
    const { p, registry } = webhookPipeline(r, { maxBatch: 25 });
    for (let i = 0; i < 200; i++) p.submit(finding({ key: `/bin/z${i}` }));
    await waitFor(() => r.requests.filter((q) => q.status === 503).length >= 3, { timeoutMs: 5000 });
    expect(p.health()[0]!.ok).toBe(false);
    expect(p.health()[0]!.consecutiveFailures).toBeGreaterThanOrEqual(2);
    up = true;
    await waitFor(() => r.accepted.size === 200, { timeoutMs: 15_000 });
    expect(r.duplicates).toEqual([]);
    // The receiver stores a batch before the sink reads the answer and moves its cursor.
    await waitFor(() => p.health()[0]!.sent === 200 && p.health()[0]!.depth === 0);
    expect(p.health()[0]).toMatchObject({ ok: true, depth: 0, sent: 200 });
    const text = await registry.metrics();
    expect(text).toMatch(/tripline_collector_sink_failures_total\{sink="soc",reason="retryable"\} [1-9]/);
    expect(text).toContain('tripline_collector_sink_sent_total{sink="soc"} 200');
  });

  it('honours Retry-After from a 429', async () => {
    const r = await receiver();
    let calls = 0;
    r.respond = () => (++calls === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    const { p } = webhookPipeline(r);
    p.submit(finding());
    await waitFor(() => r.accepted.size === 1, { timeoutMs: 5000 });
    const [a, b] = r.requests;
    expect(a!.status).toBe(429);
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(950);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const r = await receiver();
    let calls = 0;
    r.respond = () =>
      ++calls === 1
        ? { status: 503, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } }
        : { status: 200 };
    const { p } = webhookPipeline(r);
    p.submit(finding());
    await waitFor(() => r.accepted.size === 1, { timeoutMs: 5000 });
    const [a, b] = r.requests;
    // HTTP dates have whole seconds: the wait is between 1 and 2 s, never the 50 ms backoff.
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(900);
  });

  it('a permanently failing receiver sends incidents to the dead-letter file', async () => {
    const r = await receiver();
    r.respond = () => ({ status: 400 });
    const { p, dataDir, registry } = webhookPipeline(r);
    p.submit(finding({ key: '/bin/a' }));
    p.submit(finding({ key: '/bin/b' }));
    const file = join(dataDir, 'incidents', 'dead-letter.jsonl');
    const lines = await waitFor(() => {
      try {
        const l = readFileSync(file, 'utf8').trim().split('\n');
        return l.length === 2 ? l.map((x) => JSON.parse(x) as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    });
    expect(lines.map((l) => (l.incident as { key: string }).key).sort()).toEqual(['/bin/a', '/bin/b']);
    expect(lines[0]).toMatchObject({ sink: 'soc', attempts: 1 });
    expect(String(lines[0]!.error)).toContain('HTTP 400');
    // The counter moves once the file write is fsynced, just after the lines appear.
    await waitFor(async () =>
      (await registry.metrics()).includes('tripline_collector_dead_letter_total{sink="soc"} 2'),
    );
  });

  it('a receiver with another secret rejects the requests (signature checked for real)', async () => {
    const r = await receiver();
    const { p } = webhookPipeline(r, { hmacSecret: 'a different secret value' }, { maxAttempts: 1 });
    p.submit(finding());
    await waitFor(() => r.requests.length >= 1);
    expect(r.requests[0]).toMatchObject({ verified: false, status: 401 });
    expect(r.accepted.size).toBe(0);
  });

  it('does not trust a receiver whose certificate is not signed by the configured CA', async () => {
    const r = await receiver();
    const other = await receiver();
    const { p, dataDir } = webhookPipeline(r, { tls: { caFile: other.caFile } });
    p.submit(finding());
    const file = join(dataDir, 'incidents', 'dead-letter.jsonl');
    const line = await waitFor(() => {
      try {
        return JSON.parse(readFileSync(file, 'utf8').split('\n')[0]!) as { error: string };
      } catch {
        return undefined;
      }
    });
    expect(line.error).toMatch(/TLS verification failed/);
    expect(r.requests).toHaveLength(0);
  });
});
