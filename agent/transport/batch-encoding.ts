/**
 * Wire assembly of EventBatch from envelopes encoded once, in the pipeline. A batch is
 * kept as its "body" (every field but batch_id) in memory and in the spool; field 1,
 * batch_id, is prepended only when the batch is written to a stream, because ids are per
 * stream and a batch resent after a reconnect or an agent restart gets a new one.
 * Protobuf allows fields in any order and concatenated fields form a valid message,
 * which is what makes this exact (a unit test checks it against EventBatch.decode).
 *
 * Envelopes are encoded without their node and container: the body carries the node
 * once and each container once (ingest.proto, fields 5 and 6), and every envelope gets
 * a reference to its container (a Container with only cgroup_id) appended. That made a
 * typical Kubernetes envelope about six times smaller.
 */
import protobuf from 'protobufjs/minimal.js';
import { containerToWire, eventToWire, reportToWire, tripline } from '../../proto/codec.js';
import type { ContainerInfo, TriplineEvent } from '../../proto/events.js';
import type { AgentReport } from '../../proto/report.js';

const TAG_BATCH_ID = (1 << 3) | 0;
const TAG_RUN_ID = (2 << 3) | 2;
const TAG_ENVELOPE = (3 << 3) | 2;
const TAG_REPORT = (4 << 3) | 2;
const TAG_NODE = (5 << 3) | 2;
const TAG_CONTAINERS = (6 << 3) | 2;
/** Envelope.container and Container.cgroup_id. */
const TAG_ENVELOPE_CONTAINER = (3 << 3) | 2;
const TAG_CGROUP_ID = (1 << 3) | 0;

/** A serialized Container, shared by every envelope of that container. */
export interface EncodedContainer {
  readonly cgroupId: number;
  readonly bytes: Uint8Array;
}

/** An envelope as a batch takes it. */
export interface BatchEnvelope {
  /** Serialized tripline.v1.Envelope; without node and container when `container` is set. */
  readonly bytes: Uint8Array;
  /** The envelope's container, written once per batch; absent when `bytes` is complete. */
  readonly container?: EncodedContainer;
}

export interface BatchBodyOptions {
  /** Node of every envelope (they are encoded without one). */
  readonly node?: string;
  readonly report?: AgentReport;
}

export function encodeContainer(c: ContainerInfo): EncodedContainer {
  return { cgroupId: c.cgroupId, bytes: tripline.v1.Container.encode(containerToWire(c)).finish() };
}

/** Envelope bytes for the pipeline: the event without node and container, which the batch supplies. */
export function encodeEventBody(e: TriplineEvent): Uint8Array {
  return tripline.v1.Envelope.encode(eventToWire(e, 'batch')).finish();
}

/** Every field of an EventBatch but batch_id. */
export function encodeBatchBody(
  agentRunId: string,
  envelopes: readonly BatchEnvelope[],
  opts: BatchBodyOptions = {},
): Buffer {
  // The first container seen for a cgroup id goes into the list; an envelope whose
  // container differs from it (the identity was resolved further mid-batch) carries
  // its own in full.
  const listed = new Map<number, EncodedContainer>();
  for (const e of envelopes)
    if (e.container && !listed.has(e.container.cgroupId)) listed.set(e.container.cgroupId, e.container);
  const head = protobuf.Writer.create();
  head.uint32(TAG_RUN_ID).string(agentRunId);
  if (opts.node) head.uint32(TAG_NODE).string(opts.node);
  for (const c of listed.values()) head.uint32(TAG_CONTAINERS).bytes(c.bytes);
  const chunks: Uint8Array[] = [head.finish()];
  const references = new Map<number, Uint8Array>();
  for (const e of envelopes) {
    const c = e.container;
    if (!c) {
      chunks.push(fieldHeader(TAG_ENVELOPE, e.bytes.length), e.bytes);
      continue;
    }
    let own: Uint8Array;
    if (sameContainer(listed.get(c.cgroupId)!, c)) {
      own = references.get(c.cgroupId) ?? reference(c.cgroupId);
      references.set(c.cgroupId, own);
    } else {
      own = protobuf.Writer.create().uint32(TAG_ENVELOPE_CONTAINER).bytes(c.bytes).finish();
    }
    chunks.push(fieldHeader(TAG_ENVELOPE, e.bytes.length + own.length), e.bytes, own);
  }
  if (opts.report) {
    const w = protobuf.Writer.create();
    w.uint32(TAG_REPORT).fork();
    tripline.v1.AgentReport.encode(reportToWire(opts.report), w);
    w.ldelim();
    chunks.push(w.finish());
  }
  return Buffer.concat(chunks);
}

/** Tag and length of a length-delimited field whose bytes follow separately. */
function fieldHeader(tag: number, length: number): Uint8Array {
  return protobuf.Writer.create().uint32(tag).uint32(length).finish();
}

/** Envelope field 3 holding a Container with only cgroup_id: "the batch's container with this id". */
function reference(cgroupId: number): Uint8Array {
  const inner = protobuf.Writer.create().uint32(TAG_CGROUP_ID).uint64(cgroupId).finish();
  return protobuf.Writer.create().uint32(TAG_ENVELOPE_CONTAINER).bytes(inner).finish();
}

/** True when two encoded containers are the same one (the same object, or equal bytes). */
export function sameContainer(a: EncodedContainer, b: EncodedContainer): boolean {
  return (
    a === b ||
    (a.bytes.length === b.bytes.length &&
      Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.length).equals(b.bytes))
  );
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

/** Serialized envelope for one decoded event's wire form, node and container included. */
export function encodeEnvelope(env: tripline.v1.IEnvelope): Uint8Array {
  return tripline.v1.Envelope.encode(env).finish();
}
