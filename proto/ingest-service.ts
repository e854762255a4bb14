/**
 * grpc-js service definition for tripline.v1.Ingest, serialised with the generated static
 * protobufjs code (no runtime .proto loading). Agents and the collector both use it.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import './protobuf-runtime.js';
import { tripline } from './gen/tripline.js';

export type EventBatch = tripline.v1.EventBatch;
export type BatchAck = tripline.v1.BatchAck;

/** Serialised form of a batch, exposed so the agent can spool exactly what it sends. */
export function encodeBatch(batch: tripline.v1.IEventBatch): Buffer {
  const bytes = tripline.v1.EventBatch.encode(batch).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const INGEST_STREAM_PATH = '/tripline.v1.Ingest/Stream';

export const ingestServiceDefinition = {
  stream: {
    path: INGEST_STREAM_PATH,
    requestStream: true,
    responseStream: true,
    // The agent hands pre-encoded batches (Buffers) so spooled bytes are sent as-is.
    requestSerialize: (b: Buffer | tripline.v1.IEventBatch): Buffer => (Buffer.isBuffer(b) ? b : encodeBatch(b)),
    // Raw bytes: the collector decodes inside its handler so a malformed batch becomes
    // a clear status instead of a torn stream.
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (a: tripline.v1.IBatchAck): Buffer => Buffer.from(tripline.v1.BatchAck.encode(a).finish()),
    responseDeserialize: (b: Buffer): tripline.v1.BatchAck => tripline.v1.BatchAck.decode(b),
  },
} satisfies ServiceDefinition;
