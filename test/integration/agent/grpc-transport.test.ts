import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { parseAgentConfig, type CollectorConnectionConfig, type SpoolConfig } from '../../../agent/config.js';
import { createAgentMetrics } from '../../../agent/metrics.js';
import { createGrpcTransport } from '../../../agent/transport/grpc-transport.js';
import type { OutgoingBatch, Transport } from '../../../agent/transport/transport.js';
import { outgoing } from '../../helpers/outgoing.js';
import { startIngestServer, type TestIngestServer } from '../../helpers/ingest-server.js';
import { waitFor } from '../../helpers/wait.js';

const DEFAULTS = parseAgentConfig({}, new Problems());
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-transport-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function server(opts: Parameters<typeof startIngestServer>[0] = {}): Promise<TestIngestServer> {
  const s = await startIngestServer(opts);
  cleanups.push(() => s.stop());
  return s;
}

function transport(
  address: string,
  over: { collector?: Partial<CollectorConnectionConfig>; spool?: Partial<SpoolConfig>; agentRunId?: string } = {},
): { t: Transport; registry: Registry } {
  const registry = new Registry();
  const t = createGrpcTransport({
    collector: {
      ...DEFAULTS.collector,
      address,
      token: 'agent-token',
      initialBackoffMs: 20,
      maxBackoffMs: 200,
      ...over.collector,
    },
    spool: { ...DEFAULTS.spool, dir: '', ...over.spool },
    agentRunId: over.agentRunId ?? 'run-test',
    metrics: createAgentMetrics(registry),
    log: silentLogger(),
  });
  cleanups.push(() => t.stop(1000));
  return { t, registry };
}

let seq = 0;
function batchOf(n: number): OutgoingBatch {
  const envelopes = [];
  for (let i = 0; i < n; i++) {
    const e: TriplineEvent = {
      kind: 'listen',
      timeNs: Date.now() * 1e6,
      node: 'n1',
      seq: ++seq,
      container: unresolvedContainer(42),
      process: { pid: 1, ppid: 0, uid: 0, exe: '/usr/sbin/nginx', comm: 'nginx', argv: [] },
      protocol: 'tcp',
      ip: '0.0.0.0',
      port: 8000 + (seq % 1000),
    };
    envelopes.push(outgoing(e));
  }
  return { node: 'n1', envelopes };
}

function seqRange(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function metric(registry: Registry, name: string): Promise<string> {
  return registry.getSingleMetricAsString(name);
}

describe('gRPC transport against a real ingest server on loopback', () => {
  it('streams batches with the bearer token, the run id and increasing batch ids', async () => {
    const s = await server({ token: 'agent-token' });
    const { t, registry } = transport(s.address);
    await t.start();
    const first = seq + 1;
    for (let i = 0; i < 20; i++) expect(t.send(batchOf(3)).status).toBe('success');
    await waitFor(() => s.events().length === 60, { what: '60 events' });
    expect(s.events().map((e) => e.seq)).toEqual(seqRange(first, first + 59));
    expect(s.batches.every((b) => b.authorization === 'Bearer agent-token' && b.agentRunId === 'run-test')).toBe(true);
    const ids = s.batches.map((b) => b.batchId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await waitFor(async () => (await metric(registry, 'tripline_agent_batches_acked_total')).endsWith(' 20'), {
      what: '20 acks',
    });
  });

  it('reconnects after the collector restarts and loses nothing', async () => {
    const s = await server();
    const { t, registry } = transport(s.address, { collector: { maxInflightBatches: 16 } });
    await t.start();
    const accepted: number[] = [];
    const send = (): string => {
      const b = batchOf(5);
      const r = t.send(b);
      if (r.status === 'success') accepted.push(...seqRange(seq - 4, seq));
      return r.status;
    };
    for (let i = 0; i < 10; i++) send();
    await waitFor(async () => (await metric(registry, 'tripline_agent_batches_acked_total')).endsWith(' 10'), {
      what: 'the first 10 batches acknowledged',
    });
    await s.stop();
    // While it is down the window fills; with no spool the transport pushes back instead of dropping.
    const during = Array.from({ length: 30 }, send);
    expect(during.filter((r) => r === 'success')).toHaveLength(16);
    expect(during.filter((r) => r === 'retryable')).toHaveLength(14);
    await s.start();
    await waitFor(() => new Set(s.events().map((e) => e.seq)).size === 130, {
      timeoutMs: 10_000,
      what: 'the outage batches',
    });
    for (let i = 0; i < 10; i++) expect(send()).toBe('success');
    await waitFor(() => new Set(s.events().map((e) => e.seq)).size === accepted.length, {
      what: 'every accepted event',
    });
    expect([...new Set(s.events().map((e) => e.seq))].sort((a, b) => a - b)).toEqual(accepted);
    // Only unacknowledged batches are resent, and at most a window (16 batches) of them is unacknowledged.
    expect(s.events().length - accepted.length).toBeLessThanOrEqual(16 * 5);
    // Batch ids increase within each stream, even for batches resent on a new one.
    const byStream = new Map<number, number[]>();
    for (const b of s.batches) byStream.set(b.stream, [...(byStream.get(b.stream) ?? []), b.batchId]);
    for (const ids of byStream.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(byStream.size).toBeGreaterThanOrEqual(2);
    expect(await metric(registry, 'tripline_agent_reconnects_total')).toMatch(/ [1-9]\d*$/);
  });

  it('spools a long outage to disk and delivers all of it, in order, when the collector is back', async () => {
    const s = await server();
    const dir = tempDir();
    const { t, registry } = transport(s.address, {
      collector: { maxInflightBatches: 8 },
      spool: { dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 256 * 1024, fsyncIntervalMs: 50 },
    });
    await s.stop();
    await t.start();
    // A minute at a busy node's normal rate (~100 observations/s after dedup), sent while down.
    const first = seq + 1;
    for (let i = 0; i < 300; i++) expect(t.send(batchOf(20)).status).toBe('success');
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(1);
    expect(await metric(registry, 'tripline_agent_spool_bytes')).not.toMatch(/ 0$/);
    await s.start();
    await waitFor(() => new Set(s.events().map((e) => e.seq)).size === 6000, {
      timeoutMs: 20_000,
      what: '6000 distinct events',
    });
    const distinctInOrder = [...new Set(s.events().map((e) => e.seq))];
    expect(distinctInOrder).toEqual(seqRange(first, first + 5999));
    await waitFor(() => readdirSync(dir).filter((f) => f.endsWith('.seg')).length === 0, {
      what: 'delivered segments deleted',
    });
  });

  it('drops batches as spool_full once the spool bound is reached, and delivers the rest', async () => {
    const s = await server();
    const dir = tempDir();
    const { t, registry } = transport(s.address, {
      collector: { maxInflightBatches: 2 },
      spool: { dir, maxBytes: 20_000, segmentBytes: 5_000, fsyncIntervalMs: 0 },
    });
    await s.stop();
    await t.start();
    const results = Array.from({ length: 100 }, () => t.send(batchOf(10)).status);
    const accepted = results.filter((r) => r === 'success').length;
    expect(results.filter((r) => r === 'failure').length).toBe(100 - accepted);
    expect(accepted).toBeGreaterThan(2);
    expect(accepted).toBeLessThan(100);
    expect(await metric(registry, 'tripline_agent_batches_dropped_total')).toContain(
      'reason="spool_full"} ' + (100 - accepted),
    );
    await s.start();
    await waitFor(() => new Set(s.events().map((e) => e.seq)).size === accepted * 10, {
      timeoutMs: 10_000,
      what: 'the accepted batches',
    });
  });

  it('drops a batch the collector rejects as invalid instead of retrying it forever', async () => {
    let poison = 0;
    const s = await server({
      answer: (b) =>
        b.events.some((e) => e.seq === poison)
          ? { code: grpc.status.INVALID_ARGUMENT, details: 'bad envelope' }
          : 'ack',
    });
    const { t, registry } = transport(s.address);
    await t.start();
    const good1 = batchOf(2);
    const bad = batchOf(2);
    poison = seq;
    const good2 = batchOf(2);
    for (const b of [good1, bad, good2]) t.send(b);
    await waitFor(() => s.events().some((e) => e.seq === seq), { what: 'the batch after the rejected one' });
    await waitFor(async () =>
      (await metric(registry, 'tripline_agent_batches_dropped_total')).includes('reason="rejected"} 1'),
    );
    // Give a retry loop time to show itself: the rejected batch must not come back.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.batches.filter((b) => b.events.some((e) => e.seq === poison))).toHaveLength(1);
    expect(await metric(registry, 'tripline_agent_transport_errors_total')).toContain('reason="invalid_argument"} 1');
  });

  it('backs off at the maximum when the collector refuses the token', async () => {
    const s = await server({ token: 'right' });
    const { t, registry } = transport(s.address, {
      collector: { token: 'wrong', initialBackoffMs: 10, maxBackoffMs: 60_000 },
    });
    await t.start();
    t.send(batchOf(1));
    await waitFor(async () =>
      (await metric(registry, 'tripline_agent_transport_errors_total')).includes('reason="unauthenticated"} 1'),
    );
    // With the initial 10 ms backoff a blind retry loop would open dozens of streams here.
    await new Promise((r) => setTimeout(r, 500));
    expect(s.streams).toBe(1);
    expect(s.batches).toHaveLength(0);
  });
  it('keeps unacknowledged batches across an agent restart through the spool', async () => {
    const s = await server();
    const dir = tempDir();
    const spool = { dir, maxBytes: 8 * 1024 * 1024, segmentBytes: 64 * 1024, fsyncIntervalMs: 50 };
    await s.stop();
    const first = seq + 1;
    const before = transport(s.address, { collector: { maxInflightBatches: 4 }, spool });
    await before.t.start();
    // Four batches stay in memory (the window), the rest go to disk; stop() must persist the four.
    for (let i = 0; i < 20; i++) expect(before.t.send(batchOf(5)).status).toBe('success');
    await before.t.stop(50);
    await s.start();
    const after = transport(s.address, { spool, agentRunId: 'run-after-restart' });
    await after.t.start();
    // The new run's own batches follow the recovered ones, on a stream of their own.
    expect(after.t.send(batchOf(5)).status).toBe('success');
    await waitFor(() => new Set(s.events().map((e) => e.seq)).size === 105, {
      what: 'all 105 events after the restart',
    });
    expect([...new Set(s.events().map((e) => e.seq))].sort((a, b) => a - b)).toEqual(seqRange(first, first + 104));
    const streamsOf = (run: string) => new Set(s.batches.filter((b) => b.agentRunId === run).map((b) => b.stream));
    const oldRun = streamsOf('run-test');
    expect([...streamsOf('run-after-restart')].some((st) => oldRun.has(st))).toBe(false);
    expect(await metric(after.registry, 'tripline_agent_batches_dropped_total')).not.toContain('rejected');
    expect(await metric(after.registry, 'tripline_agent_transport_errors_total')).not.toContain('invalid_argument');
  });

  it('restarts a stream whose acknowledgements stop coming, and resends on the new one', async () => {
    const s = await server({ answer: (b) => (b.stream === 1 ? 'ignore' : 'ack') });
    const { t, registry } = transport(s.address, { collector: { ackTimeoutMs: 400 } });
    await t.start();
    t.send(batchOf(3));
    await waitFor(() => s.batches.some((b) => b.stream === 2), { what: 'a second stream' });
    expect(s.batches.map((b) => b.events.map((e) => e.seq))).toEqual([
      s.batches[0]!.events.map((e) => e.seq),
      s.batches[0]!.events.map((e) => e.seq),
    ]);
    expect(await metric(registry, 'tripline_agent_transport_errors_total')).toContain('reason="ack_timeout"} 1');
  });

  it('re-reads the token file on reconnect, so a rotated token needs no restart', async () => {
    const s = await server({ token: 'new-token' });
    const tokenFile = join(tempDir(), 'token');
    writeFileSync(tokenFile, 'old-token\n');
    const { t } = transport(s.address, {
      collector: { token: undefined, tokenFile, initialBackoffMs: 10, maxBackoffMs: 300 },
    });
    await t.start();
    t.send(batchOf(1));
    await waitFor(() => s.streams >= 1, { what: 'the refused stream' });
    writeFileSync(tokenFile, 'new-token\n');
    await waitFor(() => s.batches.length === 1, { what: 'delivery with the rotated token' });
    expect(s.batches[0]!.authorization).toBe('Bearer new-token');
  });
});
