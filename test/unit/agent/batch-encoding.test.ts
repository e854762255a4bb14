import { describe, expect, it } from 'vitest';
import { encodeBatchBody, encodeEnvelope, withBatchId } from '../../../agent/transport/batch-encoding.js';
import { eventToWire, reportFromWire, reportToWire, tripline } from '../../../proto/codec.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { encodeBatch } from '../../../proto/ingest-service.js';
import type { AgentReport } from '../../../proto/report.js';

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
      encodeBatchBody('run', [encodeEnvelope(env), encodeEnvelope(env)], report),
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

  it('gives the same body a different id per stream', () => {
    const body = encodeBatchBody('run', []);
    expect(Number(tripline.v1.EventBatch.decode(withBatchId(1, body)).batchId)).toBe(1);
    expect(Number(tripline.v1.EventBatch.decode(withBatchId(2, body)).batchId)).toBe(2);
  });
});
