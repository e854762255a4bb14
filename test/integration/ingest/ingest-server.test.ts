import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { Registry } from 'prom-client';
import { eventToWire } from '../../../proto/codec.js';
import { createIngestServer } from '../../../collector/ingest/grpc-ingest-server.js';
import { parseIngestConfig } from '../../../collector/ingest/ingest-config.js';
import { createStaticTokenAuthenticator } from '../../../collector/ingest/static-token-authenticator.js';
import type { AgentAuthenticator } from '../../../collector/ingest/agent-authenticator.js';
import { waitFor } from '../../helpers/wait.js';
import {
  AGENT_TOKEN,
  batchOf,
  connectAgent,
  encodeBatch,
  recordingIntake,
  sampleEvent,
  startIngest,
  type AgentStream,
  type RunningIngest,
} from './ingest-harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ingest(...args: Parameters<typeof startIngest>): Promise<RunningIngest> {
  const running = await startIngest(...args);
  cleanups.push(() => running.server.stop(0));
  return running;
}

function agent(...args: Parameters<typeof connectAgent>): AgentStream {
  const a = connectAgent(...args);
  cleanups.push(() => a.close());
  return a;
}

describe('ingest server', () => {
  it('keeps a connect whose DNS name is no hostname, without the name, and counts it', async () => {
    const run = await ingest();
    const a = agent(run.port);
    const bad = eventToWire(sampleEvent(4));
    bad.connect = { ...bad.connect, dnsName: 'Not/A,Name' };
    a.send({ batchId: 1, agentRunId: 'run-1', envelopes: [bad] });
    const [ack] = await a.acked(1);
    expect([ack!.accepted, ack!.rejected]).toEqual([1, 0]);
    expect(run.intake.applied[0]!.events[0]).toMatchObject({ kind: 'connect', ip: '10.0.0.7', dnsName: '' });
    expect(await run.metric('tripline_collector_ingest_dns_names_dropped_total')).toBe(1);
  });

  it('applies valid batches in order and acks each with its counts', async () => {
    const run = await ingest();
    const a = agent(run.port);
    const invalid = eventToWire(sampleEvent(2));
    invalid.fileWrite = { ...invalid.fileWrite, path: '' };
    a.send(batchOf(1, 5, { node: 'node-a' }));
    a.send({ ...batchOf(2, 3, { from: 5 }), envelopes: [...batchOf(2, 3, { from: 5 }).envelopes!, invalid] });
    // Pre-encoded bytes, as an agent's spool would send them.
    a.send(
      encodeBatch({ ...batchOf(7, 2, { from: 8 }), report: { node: 'node-a', agentRunId: 'run-1', sensor: 'ebpf' } }),
    );

    const acks = await a.acked(3);
    expect(acks.map((k) => [k.batchId, k.accepted, k.rejected])).toEqual([
      [1, 5, 0],
      [2, 3, 1],
      [7, 2, 0],
    ]);
    const seqs = run.intake.applied.flatMap((b) => b.events.map((e) => e.seq));
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(run.intake.applied[0]!.events.map((e) => e.kind)).toEqual(['exec', 'syscalls', 'file', 'listen', 'connect']);
    expect(run.intake.applied[0]!.source).toEqual({
      identity: expect.stringMatching(/^static-token:/),
      node: 'node-a',
      agentRunId: 'run-1',
    });
    expect(run.intake.reports).toHaveLength(1);
    expect(run.intake.reports[0]!.report.sensor).toBe('ebpf');

    expect(await run.metric('tripline_collector_ingest_batches_total')).toBe(3);
    expect(await run.metric('tripline_collector_ingest_envelopes_total')).toBe(10);
    expect(await run.metric('tripline_collector_ingest_envelopes_total', { kind: 'exec' })).toBe(2);
    expect(await run.metric('tripline_collector_ingest_rejected_total', { reason: 'invalid_envelope' })).toBe(1);
    expect(await run.metric('tripline_collector_ingest_streams')).toBe(1);
    expect(run.server.connectedAgents()).toEqual([
      expect.objectContaining({ node: 'node-a', agentRunId: 'run-1', batches: 3, envelopes: 10 }),
    ]);

    a.call.end();
    expect((await a.status).code).toBe(status.OK);
    await waitFor(async () => (await run.metric('tripline_collector_ingest_streams')) === 0, {
      what: 'stream gauge back to 0',
    });
  });

  it('keeps concurrent agents apart: each stream is applied in its own order under its own source', async () => {
    const run = await ingest();
    const agents = Array.from({ length: 20 }, () => agent(run.port));
    agents.forEach((a, n) => {
      for (let b = 1; b <= 10; b++) a.send(batchOf(b, 3, { from: b * 3, node: `node-${n}`, runId: `run-${n}` }));
    });
    await Promise.all(agents.map((a) => a.acked(10)));
    for (const [n, a] of agents.entries()) {
      expect(a.acks.map((k) => k.batchId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const mine = run.intake.applied.filter((b) => b.source.node === `node-${n}`);
      expect(
        mine.every((b) => b.source.agentRunId === `run-${n}` && b.events.every((e) => e.node === `node-${n}`)),
      ).toBe(true);
      expect(mine.map((b) => b.events[0]!.seq)).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    }
    expect(await run.metric('tripline_collector_ingest_streams')).toBe(20);
    expect(await run.metric('tripline_collector_ingest_batches_total')).toBe(200);
    expect(await run.metric('tripline_collector_ingest_envelopes_total')).toBe(600);
  });

  const truncated = encodeBatch(batchOf(1, 3)).subarray(0, 100);
  const cases: {
    name: string;
    config?: Record<string, unknown>;
    token?: string | null;
    send?: (a: AgentStream) => void;
    code: status;
    message: RegExp;
    reason: string;
  }[] = [
    {
      name: 'malformed bytes',
      // Tag of an unknown field with wire type 7, which does not exist.
      send: (a) => a.send(Buffer.from([0x08, 0x01, 0x7f, 0x00])),
      code: status.INVALID_ARGUMENT,
      message: /batch does not decode: invalid wire type 7/,
      reason: 'malformed',
    },
    {
      name: 'a truncated batch',
      send: (a) => a.send(Buffer.from(truncated)),
      code: status.INVALID_ARGUMENT,
      message: /batch does not decode: index out of range/,
      reason: 'malformed',
    },
    {
      name: 'an oversized message',
      config: { maxMessageBytes: 64 * 1024 },
      send: (a) => a.send(encodeBatch(batchOf(1, 600))),
      code: status.RESOURCE_EXHAUSTED,
      message: /larger than max/,
      reason: 'oversized',
    },
    {
      name: 'too many envelopes',
      config: { maxEnvelopesPerBatch: 10 },
      send: (a) => a.send(batchOf(1, 11)),
      code: status.INVALID_ARGUMENT,
      message: /11 envelopes, more than the collector's limit of 10/,
      reason: 'too_many_envelopes',
    },
    {
      name: 'a batch_id that does not increase',
      send: (a) => {
        a.send(batchOf(5, 1));
        a.send(batchOf(5, 1, { from: 1 }));
      },
      code: status.INVALID_ARGUMENT,
      message: /batch_id 5 is not greater than the previous batch_id 5/,
      reason: 'batch_order',
    },
    {
      name: 'an unknown token',
      token: 'not-the-agent-token-at-all',
      code: status.UNAUTHENTICATED,
      message: /not recognised/,
      reason: 'auth_invalid',
    },
    {
      name: 'a missing token',
      token: null,
      code: status.UNAUTHENTICATED,
      message: /no agent token/,
      reason: 'auth_missing',
    },
  ];

  it.each(cases)('refuses $name with the right status while another agent keeps streaming', async (c) => {
    const run = await ingest(c.config ?? {});
    const other = agent(run.port);
    other.send(batchOf(1, 3, { node: 'node-b', runId: 'run-b' }));
    await other.acked(1);

    const bad = agent(run.port, { token: c.token });
    c.send?.(bad);
    const s = await bad.status;
    expect(s.code).toBe(c.code);
    expect(s.details).toMatch(c.message);
    if (c.token) expect(s.details).not.toContain(c.token);
    expect(await run.metric('tripline_collector_ingest_rejected_total', { reason: c.reason })).toBeGreaterThanOrEqual(
      1,
    );
    // Exactly this reason was counted, and nothing the bad agent sent reached the intake.
    const all = await run.metric('tripline_collector_ingest_rejected_total');
    expect(all).toBe(await run.metric('tripline_collector_ingest_rejected_total', { reason: c.reason }));
    expect(run.intake.applied.every((b) => b.source.node === 'node-b' || c.reason === 'batch_order')).toBe(true);

    other.send(batchOf(2, 2, { from: 3, node: 'node-b', runId: 'run-b' }));
    const acks = await other.acked(2);
    expect(acks[1]).toMatchObject({ batchId: 2, accepted: 2 });
    expect(run.server.connectedAgents().map((x) => x.node)).toEqual(['node-b']);
  });

  it('answers UNAVAILABLE when the authenticator cannot decide, so the agent retries', async () => {
    const unavailable: AgentAuthenticator = { authenticate: async () => ({ ok: false, reason: 'unavailable' }) };
    const run = await ingest({}, { authenticator: unavailable });
    const a = agent(run.port);
    const s = await a.status;
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.details).toMatch(/retry/);
    expect(await run.metric('tripline_collector_ingest_rejected_total', { reason: 'auth_unavailable' })).toBe(1);
  });

  it('ends the stream with UNAVAILABLE when the intake fails, without acking the batch', async () => {
    const intake = recordingIntake();
    const failing = { ...intake, apply: async () => Promise.reject(new Error('store is down')) };
    const run = await ingest({}, { intake: failing as unknown as typeof intake });
    const a = agent(run.port);
    a.send(batchOf(1, 2));
    const s = await a.status;
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.details).toMatch(/could not apply the batch; retry/);
    expect(a.acks).toEqual([]);
    expect(await run.metric('tripline_collector_ingest_rejected_total', { reason: 'apply_failed' })).toBe(1);
    expect(await run.metric('tripline_collector_ingest_batches_total')).toBe(0);
  });

  it('acks a report-only batch and refuses a run id that changes within the stream', async () => {
    const run = await ingest();
    const a = agent(run.port);
    a.send({
      batchId: 1,
      agentRunId: 'run-1',
      report: { node: 'node-r', agentRunId: 'run-1', sensor: 'proc', blindSpots: ['syscall sets'] },
    });
    expect(await a.acked(1)).toEqual([{ batchId: 1, accepted: 0, rejected: 0 }]);
    expect(run.intake.reports[0]!.source).toMatchObject({ node: 'node-r', agentRunId: 'run-1' });
    expect(run.intake.reports[0]!.report.blindSpots).toEqual(['syscall sets']);
    a.send(batchOf(2, 1, { runId: 'run-2' }));
    const s = await a.status;
    expect(s.code).toBe(status.INVALID_ARGUMENT);
    expect(s.details).toMatch(/agent_run_id changed/);
    expect(await run.metric('tripline_collector_ingest_rejected_total', { reason: 'agent_run_changed' })).toBe(1);
  });

  it('acks only after apply resolved, and applies one batch of a stream at a time', async () => {
    const intake = recordingIntake();
    const run = await ingest({}, { intake });
    const slow = agent(run.port);
    intake.hold('node-a');
    slow.send(batchOf(1, 4));
    slow.send(batchOf(2, 4, { from: 4 }));
    await waitFor(() => intake.started === 1, { what: 'first apply to start' });

    // A full round trip on another stream proves the server is serving, not merely slow.
    const other = agent(run.port);
    other.send(batchOf(1, 1, { node: 'node-b' }));
    await other.acked(1);
    expect(slow.acks).toEqual([]);
    // Batch 2 reached the collector, but apply is not entered before batch 1 is acked.
    expect(intake.started).toBe(2);

    intake.release();
    await slow.acked(2);
    expect(slow.acks.map((k) => [k.batchId, k.accepted])).toEqual([
      [1, 4],
      [2, 4],
    ]);
    expect(intake.applied.filter((b) => b.source.node === 'node-a').map((b) => b.events[0]!.seq)).toEqual([0, 4]);
    expect(await run.metric('tripline_collector_ingest_apply_seconds_count')).toBe(3);
    expect(await run.metric('tripline_collector_ingest_batch_bytes_count')).toBe(3);
  });

  it('pushes back on the agent while the intake is slow instead of buffering its stream', async () => {
    const intake = recordingIntake();
    const run = await ingest({}, { intake });
    const a = agent(run.port);
    intake.hold('node-a');
    const sent = 100;
    // ~40 KiB each: far more than the stream's read-ahead plus its HTTP/2 window.
    for (let id = 1; id <= sent; id++) a.send(encodeBatch(batchOf(id, 200, { from: id * 200 })));
    await waitFor(() => intake.started === 1, { what: 'first apply' });
    const other = agent(run.port);
    other.send(batchOf(1, 1, { node: 'node-b' }));
    await other.acked(1);
    // The agent still holds most batches: the collector stopped reading, so HTTP/2 flow control held them back.
    expect(a.call.writableLength).toBeGreaterThan(sent / 2);
    intake.release();
    const acks = await a.acked(sent);
    expect(acks.map((k) => k.batchId)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  });

  it('stop() acks the batch being applied, then ends streams with UNAVAILABLE', async () => {
    const intake = recordingIntake();
    const run = await ingest({}, { intake });
    const busy = agent(run.port);
    const idle = agent(run.port, {});
    idle.send(batchOf(1, 1, { node: 'node-idle' }));
    await idle.acked(1);
    intake.hold('node-a');
    busy.send(batchOf(1, 3));
    await waitFor(() => intake.started === 2, { what: 'apply in flight' });

    const stopped = run.server.stop(10_000);
    expect((await idle.status).code).toBe(status.UNAVAILABLE);
    expect(busy.acks).toHaveLength(0);
    intake.release();
    const s = await busy.status;
    expect(busy.acks.map((k) => [k.batchId, k.accepted])).toEqual([[1, 3]]);
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.details).toMatch(/shutting down/);
    await stopped;
    const late = connectAgent(run.port, { options: { 'grpc.initial_reconnect_backoff_ms': 50 } });
    cleanups.push(() => late.close());
    late.call.end();
    expect((await late.status).code).toBe(status.UNAVAILABLE);
  });

  it('stop() cancels an apply that outlives the grace period', async () => {
    const intake = recordingIntake();
    const run = await ingest({}, { intake });
    const a = agent(run.port);
    intake.hold('node-a');
    a.send(batchOf(1, 1));
    await waitFor(() => intake.started === 1, { what: 'apply in flight' });
    const t0 = Date.now();
    await run.server.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const s = await a.status;
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.details).toMatch(/resend/);
    expect(a.acks).toHaveLength(0);
    intake.release();
  });

  it('refuses to start plaintext on a non-loopback address unless allowed', async () => {
    const problems = new Problems();
    const config = parseIngestConfig({ listen: '0.0.0.0:0' }, problems);
    expect(problems.all.join('\n')).toMatch(/refusing plaintext gRPC on non-loopback address 0.0.0.0:0/);
    const server = createIngestServer({
      log: silentLogger(),
      registry: new Registry(),
      intake: recordingIntake(),
      authenticator: createStaticTokenAuthenticator([AGENT_TOKEN]),
      config,
    });
    await expect(server.start()).rejects.toThrow(
      /refusing plaintext gRPC on non-loopback address 0\.0\.0\.0:0: configure tls/,
    );
    await server.stop(0);
  });

  it('says which address it could not bind', async () => {
    const first = await ingest();
    await expect(startIngest({ listen: `127.0.0.1:${first.port}` })).rejects.toThrow(
      new RegExp(`ingest cannot listen on 127\\.0\\.0\\.1:${first.port}`),
    );
  });

  it('serves on IPv6 loopback', async () => {
    const run = await ingest({ listen: '[::1]:0' });
    const a = agent(run.port, { host: '[::1]' });
    a.send(batchOf(1, 1));
    expect((await a.acked(1))[0]!.accepted).toBe(1);
  });
});
