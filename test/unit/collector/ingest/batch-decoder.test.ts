import { describe, expect, it } from 'vitest';
import { eventsFromBatch, reportFromWire, tripline } from '../../../../proto/codec.js';
import type { TriplineEvent } from '../../../../proto/events.js';
import { encodeBatch } from '../../../../proto/ingest-service.js';
import { createBatchDecoder, type BatchDecodeResult } from '../../../../collector/ingest/batch-decoder.js';
import { realisticEnvelope } from '../../../../bench/ingest/realistic-batches.js';

const pb = tripline.v1;

/** What the contract defines: the generated decoder followed by eventsFromBatch. */
function reference(bytes: Buffer, max: number): BatchDecodeResult {
  let wire: tripline.v1.EventBatch;
  try {
    wire = pb.EventBatch.decode(bytes);
  } catch (err) {
    return { ok: false, reason: 'malformed', error: (err as Error).message };
  }
  if (wire.envelopes.length > max) return { ok: false, reason: 'too_many_envelopes', error: '' };
  const kinds = ['exec', 'syscalls', 'file', 'listen', 'connect'];
  const events: TriplineEvent[] = [];
  const perKind = [0, 0, 0, 0, 0];
  let rejected = 0;
  let firstRejection: string | undefined;
  let droppedNames = 0;
  eventsFromBatch(wire).forEach((r, i) => {
    if (r.ok) {
      events.push(r.value);
      perKind[kinds.indexOf(r.value.kind)]!++;
      const sent = wire.envelopes[i]!.connect?.dnsName ?? '';
      if (r.value.kind === 'connect' && sent !== r.value.dnsName) droppedNames++;
    } else {
      rejected++;
      firstRejection ??= `envelope ${i}: ${r.error}`;
    }
  });
  const report = wire.report ? reportFromWire(wire.report) : undefined;
  const node = report?.node || wire.node || (events.length > 0 ? events[0]!.node : '');
  return {
    ok: true,
    batch: {
      batchId: Number(wire.batchId),
      agentRunId: wire.agentRunId,
      events,
      perKind,
      rejected,
      firstRejection,
      droppedNames,
      report,
      node,
    },
  };
}

/** Valid and invalid envelopes covering every kind and every check eventFromWire makes. */
function variety(): tripline.v1.IEnvelope[] {
  const out: tripline.v1.IEnvelope[] = Array.from({ length: 60 }, (_, i) => realisticEnvelope(i));
  const base = (i: number): tripline.v1.IEnvelope => ({ ...realisticEnvelope(i) });
  const file = base(0);
  const connect = base(8);
  const syscalls = base(19);
  out.push(
    { ...file, fileWrite: { ...file.fileWrite, op: 9 as tripline.v1.FileOp } },
    { ...file, fileWrite: { ...file.fileWrite, path: '' } },
    { ...file, fileWrite: { ...file.fileWrite, op: -1 as tripline.v1.FileOp } },
    { ...file, kind: pb.EventKind.EVENT_KIND_LISTEN },
    { ...file, container: null },
    { ...file, process: null },
    { ...file, fileWrite: null },
    { ...file, container: { ...file.container, workload: null, cgroupId: 0 } },
    { ...file, container: {} },
    {
      ...connect,
      connect: { protocol: 3 as tripline.v1.Protocol, remote: { ip: Uint8Array.of(1, 2, 3, 4), port: 1 } },
    },
    { ...connect, connect: { protocol: 2, remote: { ip: Uint8Array.of(1, 2, 3), port: 1 } } },
    { ...connect, connect: { protocol: 1, remote: { ip: Uint8Array.of(1, 2, 3, 4), port: 70000 } } },
    { ...connect, connect: { protocol: 1 } },
    {
      ...connect,
      connect: {
        protocol: 1,
        remote: { ip: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), port: 443 },
      },
    },
    {
      ...connect,
      connect: {
        protocol: 1,
        remote: { ip: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]), port: 80 },
      },
    },
    {
      ...connect,
      connect: { protocol: 1, remote: { ip: Uint8Array.of(203, 0, 113, 9), port: 443 }, dnsName: 'api.stripe.com' },
    },
    { ...connect, connect: { protocol: 2, remote: { ip: Uint8Array.of(1, 2, 3), port: 53 }, dnsName: 'x.example' } },
    ...['Upper.example', 'a/b', 'x,y', 'a..b', 'a'.repeat(64) + '.example', `${'a.'.repeat(127)}ab`].map((dnsName) => ({
      ...connect,
      connect: { protocol: 1, remote: { ip: Uint8Array.of(203, 0, 113, 9), port: 443 }, dnsName },
    })),
    { ...syscalls, syscallSet: { numbers: [1, 2, 3], names: ['write'], arch: 'x86_64' } },
    { ...syscalls, syscallSet: { numbers: [1, 2, 3], arch: 'aarch64' } },
    { ...base(16), processExec: { argvTruncated: true, writtenByContainer: true, cwd: '/' } },
    { ...base(16), timeUnixNano: 2 ** 60 + 12345, seq: 2 ** 53 + 2 },
  );
  return out;
}

function compare(bytes: Buffer, max = 10_000): { ours: BatchDecodeResult; ref: BatchDecodeResult } {
  const ours = createBatchDecoder(max).decode(bytes);
  const ref = reference(bytes, max);
  return { ours, ref };
}

describe('batch decoder', () => {
  it('decodes exactly what EventBatch.decode + eventFromWire give, valid and invalid envelopes alike', () => {
    const envelopes = variety();
    const bytes = encodeBatch({
      batchId: 2 ** 40 + 7,
      agentRunId: 'run-7',
      envelopes,
      report: {
        node: 'node-r',
        agentRunId: 'run-7',
        sensor: 'ebpf',
        containers: [{ cgroupId: 5, counts: [{ kind: 12, seen: 2 ** 33, sent: 1 }] }],
      },
    });
    const { ours, ref } = compare(bytes);
    expect(ours.ok && ours.batch.rejected).toBe(12);
    expect(ours.ok && ours.batch.droppedNames).toBe(6);
    // A name that is no hostname is dropped, the connect kept (keyed by address).
    const names = ours.ok
      ? ours.batch.events.flatMap((e) => (e.kind === 'connect' && e.ip === '203.0.113.9' ? [e.dnsName] : []))
      : [];
    expect(names.sort()).toEqual(['', '', '', '', '', '', 'api.stripe.com']);
    expect(ours).toEqual(ref);
  });

  it('applies the batch header like eventsFromBatch: listed containers, references, the shared node', () => {
    const listed = [realisticEnvelope(0).container!, realisticEnvelope(1).container!];
    const ref = (i: number, cgroupId: number): tripline.v1.IEnvelope => ({
      ...realisticEnvelope(i),
      node: '',
      container: { cgroupId },
    });
    const envelopes = [
      ref(0, Number(listed[0]!.cgroupId)),
      ref(1, Number(listed[1]!.cgroupId)),
      ref(2, 123_456), // not listed: a bare container
      { ...ref(3, Number(listed[0]!.cgroupId)), node: 'own-node' },
      realisticEnvelope(4), // complete on its own
      // Explicit default values are still a reference.
      {
        ...ref(5, Number(listed[1]!.cgroupId)),
        container: { cgroupId: listed[1]!.cgroupId, cgroupPath: '', privileged: false },
      },
    ];
    const duplicate = { ...listed[0]!, image: 'ignored:2' };
    for (const order of ['header-first', 'header-last']) {
      const head = pb.EventBatch.encode({ node: 'batch-node', containers: [...listed, duplicate] }).finish();
      const body = pb.EventBatch.encode({ batchId: 3, agentRunId: 'r', envelopes }).finish();
      const bytes = Buffer.concat(order === 'header-first' ? [head, body] : [body, head]);
      const { ours, ref: expected } = compare(bytes);
      expect(ours, order).toEqual(expected);
      if (!ours.ok) throw new Error('expected it to decode');
      const events = ours.batch.events;
      expect(events.map((e) => e.node)).toEqual([
        'batch-node',
        'batch-node',
        'batch-node',
        'own-node',
        realisticEnvelope(4).node,
        'batch-node',
      ]);
      expect(events[0]!.container.podUid).toBe(listed[0]!.podUid);
      expect(events[0]!.container.image).not.toBe('ignored:2');
      expect(events[2]!.container.workload).toBeUndefined();
      expect(events[5]!.container).toBe(events[1]!.container);
      expect(ours.batch.node).toBe('batch-node');
    }
  });

  it("hands out one ContainerInfo object for a stream's repeats of a container", () => {
    const decoder = createBatchDecoder(100);
    const bytes = encodeBatch({ batchId: 1, envelopes: [realisticEnvelope(0), realisticEnvelope(24)] });
    const first = decoder.decode(bytes);
    const second = decoder.decode(bytes);
    if (!first.ok || !second.ok) throw new Error('expected both to decode');
    const [a, b] = first.batch.events;
    // The analyzer keys per-container state on the object, so identity is the contract.
    expect(a!.container).toBe(b!.container);
    expect(second.batch.events[0]!.container).toBe(a!.container);
    // Same cgroup id, different bytes: decoded afresh, not served from the cache.
    const moved = realisticEnvelope(0);
    moved.container = { ...moved.container, image: 'registry.example.com/other:2' };
    const third = decoder.decode(encodeBatch({ batchId: 3, envelopes: [moved] }));
    if (!third.ok) throw new Error('expected it to decode');
    expect(third.batch.events[0]!.container.image).toBe('registry.example.com/other:2');
    expect(third.batch.events[0]!.container).not.toBe(a!.container);
  });

  it('refuses a batch over the envelope limit with the count', () => {
    const bytes = encodeBatch({ batchId: 1, envelopes: Array.from({ length: 12 }, (_, i) => realisticEnvelope(i)) });
    expect(createBatchDecoder(10).decode(bytes)).toEqual({
      ok: false,
      reason: 'too_many_envelopes',
      error: "batch has 12 envelopes, more than the collector's limit of 10",
    });
  });

  it('reports wire errors as malformed, with the reason', () => {
    const truncated = encodeBatch({ batchId: 1, envelopes: [realisticEnvelope(1)] }).subarray(0, 40);
    const r = createBatchDecoder(10).decode(truncated);
    expect(r).toMatchObject({
      ok: false,
      reason: 'malformed',
      error: expect.stringMatching(/^batch does not decode: index out of range/),
    });
    expect(createBatchDecoder(10).decode(Buffer.from([0x7f]))).toMatchObject({
      error: 'batch does not decode: invalid wire type 7 at offset 1',
    });
  });

  it('agrees with the reference on corrupted input: never accepts what it rejects, never differs when both accept', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const full = variety().slice(55, 75);
    const clean = [
      encodeBatch({ batchId: 9, agentRunId: 'r', envelopes: full }),
      // The agents' compact form: node and containers once, envelopes refer to them.
      Buffer.from(
        pb.EventBatch.encode({
          batchId: 9,
          agentRunId: 'r',
          node: 'n',
          containers: full.flatMap((e) => (e.container ? [e.container] : [])),
          envelopes: full.map((e) => ({
            ...e,
            node: '',
            container: e.container && { cgroupId: e.container.cgroupId },
          })),
        }).finish(),
      ),
    ];
    let bothAccepted = 0;
    for (let round = 0; round < 400; round++) {
      const bytes = Buffer.from(clean[round % 2]!);
      const mutations = 1 + random(3);
      for (let m = 0; m < mutations; m++) bytes[random(bytes.length)] = random(256);
      const cut = round % 3 === 0 ? bytes.subarray(0, random(bytes.length)) : bytes;
      const { ours, ref } = compare(Buffer.from(cut));
      if (!ref.ok) expect(ours.ok, `round ${round}: reference rejected (${ref.ok || ref.error})`).toBe(false);
      if (ours.ok) {
        bothAccepted++;
        expect(ours, `round ${round}`).toEqual(ref);
      }
    }
    // The property means little unless many corrupted batches still decoded.
    expect(bothAccepted).toBeGreaterThan(40);
  });
});
