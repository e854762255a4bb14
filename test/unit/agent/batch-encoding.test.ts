import { describe, expect, it } from 'vitest';
import {
  encodeBatchBody,
  encodeContainer,
  encodeEnvelope,
  withBatchId,
} from '../../../agent/transport/batch-encoding.js';
import { eventsFromBatch, eventToWire, reportFromWire, reportToWire, tripline } from '../../../proto/codec.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { encodeBatch } from '../../../proto/ingest-service.js';
import type { AgentReport } from '../../../proto/report.js';
import { outgoing } from '../../helpers/outgoing.js';

const event: TriplineEvent = {
  kind: 'connect',
  timeNs: 1_700_000_000_000_000_000,
  node: 'n1',
  seq: 42,
  container: { ...unresolvedContainer(77), cgroupPath: '/system.slice/a.service' },
  process: { pid: 1, ppid: 0, uid: 0, exe: '/usr/bin/curl', comm: 'curl', argv: ['curl', 'x'] },
  protocol: 'tcp',
  ip: '10.0.0.1',
  port: 443,
  dnsName: 'api.example.com',
};

const report: AgentReport = {
  node: 'n1',
  agentRunId: 'run',
  intervalStartNs: 1,
  intervalEndNs: 2,
  containers: [
    { cgroupId: 77, workload: undefined, counts: [{ kind: 'connect', seen: 3, sent: 1, deduplicated: 2 }], drops: [] },
  ],
  unattributedDrops: [{ kind: 'exec', reason: 'ringbuf_full', count: 5 }],
  sensor: 'ebpf',
  blindSpots: [],
};

describe('batch encoding', () => {
  it('produces the same message as encoding the whole EventBatch at once', () => {
    const env = eventToWire(event);
    const assembled = withBatchId(
      9_007_199_254,
      encodeBatchBody('run', [{ bytes: encodeEnvelope(env) }, { bytes: encodeEnvelope(env) }], { report }),
    );
    const decoded = tripline.v1.EventBatch.decode(assembled);
    expect(Number(decoded.batchId)).toBe(9_007_199_254);
    expect(decoded.agentRunId).toBe('run');
    expect(decoded.envelopes).toHaveLength(2);
    expect(Number(decoded.envelopes[1]!.seq)).toBe(42);
    expect(reportFromWire(decoded.report!)).toEqual(report);
    const reference = encodeBatch({
      batchId: 9_007_199_254,
      agentRunId: 'run',
      envelopes: [env, env],
      report: reportToWire(report),
    });
    expect(tripline.v1.EventBatch.decode(reference).toJSON()).toEqual(decoded.toJSON());
  });

  it('sends the node and each container once, and every envelope decodes to its full event', () => {
    const workload = { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'cart', container: 'app' };
    const cart = {
      ...event.container,
      cgroupId: 5,
      podUid: 'pod-1',
      containerId: 'c1',
      workload,
      imageDigest: 'sha256:aa',
    };
    const db = { ...cart, cgroupId: 6, containerId: 'c2', workload: { ...workload, name: 'db' } };
    const events: TriplineEvent[] = [
      { ...event, seq: 1, container: cart },
      { ...event, seq: 2, container: db },
      { ...event, seq: 3, container: cart },
    ];
    const compact = encodeBatchBody(
      'run',
      events.map((e) => outgoing(e)),
      { node: 'n1' },
    );
    const full = encodeBatchBody(
      'run',
      events.map((e) => ({ bytes: encodeEnvelope(eventToWire(e)) })),
    );
    const decoded = tripline.v1.EventBatch.decode(compact);
    expect(decoded.containers.map((c) => Number(c.cgroupId))).toEqual([5, 6]);
    expect(decoded.envelopes.every((e) => e.node === '' && e.container!.cgroupPath === '')).toBe(true);
    expect(eventsFromBatch(decoded)).toEqual(events.map((value) => ({ ok: true, value })));
    expect(compact.length).toBeLessThan(full.length);
  });

  it('inlines a container that differs from the one the batch lists for its cgroup', () => {
    const first = { ...event.container, podUid: 'pod-1' };
    const resolved = { ...first, workload: { cluster: 'c', namespace: 'n', kind: 'Pod', name: 'p', container: 'x' } };
    const events: TriplineEvent[] = [
      { ...event, seq: 1, container: first },
      { ...event, seq: 2, container: resolved },
    ];
    const body = encodeBatchBody(
      'run',
      events.map((e) => outgoing(e)),
      { node: 'n1' },
    );
    const decoded = tripline.v1.EventBatch.decode(body);
    expect(decoded.containers).toHaveLength(1);
    expect(eventsFromBatch(decoded)).toEqual(events.map((value) => ({ ok: true, value })));
    // The same encoded container object again is referenced, not inlined.
    const shared = encodeContainer(first);
    const again = encodeBatchBody('run', [outgoing(events[0]!, shared), outgoing(events[0]!, shared)], { node: 'n1' });
    expect(tripline.v1.EventBatch.decode(again).envelopes.every((e) => e.container!.podUid === '')).toBe(true);
  });

  it('gives the same body a different id per stream', () => {
    const body = encodeBatchBody('run', []);
    expect(Number(tripline.v1.EventBatch.decode(withBatchId(1, body)).batchId)).toBe(1);
    expect(Number(tripline.v1.EventBatch.decode(withBatchId(2, body)).batchId)).toBe(2);
  });
});
