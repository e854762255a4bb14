/**
 * Wire assembly of EventBatch from envelopes encoded once, in the pipeline. A batch is
 * kept as its "body" (fields 2-4: run id, envelopes, report) in memory and in the spool;
 * field 1, batch_id, is prepended only when the batch is written to a stream, because
 * ids are per stream and a batch resent after a reconnect or an agent restart gets a new one.
 * Protobuf allows fields in any order and concatenated fields form a valid message,
 * which is what makes this exact (a unit test checks it against EventBatch.decode).
 */
import protobuf from 'protobufjs/minimal.js';
import { reportToWire, tripline } from '../../proto/codec.js';
import type { AgentReport } from '../../proto/report.js';

const TAG_BATCH_ID = (1 << 3) | 0;
const TAG_RUN_ID = (2 << 3) | 2;
const TAG_ENVELOPE = (3 << 3) | 2;
const TAG_REPORT = (4 << 3) | 2;

/** Fields 2-4 of an EventBatch. */
export function encodeBatchBody(agentRunId: string, envelopes: readonly Uint8Array[], report?: AgentReport): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(TAG_RUN_ID).string(agentRunId);
  for (const e of envelopes) w.uint32(TAG_ENVELOPE).bytes(e);
  if (report) {
    w.uint32(TAG_REPORT).fork();
    tripline.v1.AgentReport.encode(reportToWire(report), w);
    w.ldelim();
  }
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A complete EventBatch: `batchId` followed by a body from encodeBatchBody. */
export function withBatchId(batchId: number, body: Uint8Array): Buffer {
  const head = protobuf.Writer.create().uint32(TAG_BATCH_ID).uint64(batchId).finish();
  return Buffer.concat([head, body]);
}

/** The agent_run_id of a body (or a whole batch); '' when it has none. */
export function runIdOf(body: Uint8Array): string {
  const r = protobuf.Reader.create(body);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === TAG_RUN_ID) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

/** Serialized envelope for one decoded event's wire form. */
export function encodeEnvelope(env: tripline.v1.IEnvelope): Uint8Array {
  return tripline.v1.Envelope.encode(env).finish();
}
