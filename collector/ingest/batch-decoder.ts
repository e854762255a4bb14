/**
 * Wire bytes of one EventBatch → decoded events, inside the stream handler, so that bad
 * input becomes a status with a reason instead of a torn stream, and one bad envelope
 * costs only itself.
 *
 * Envelopes are read straight from the bytes into TriplineEvents (the same result as
 * EventBatch.decode + eventFromWire, which a test checks on valid, invalid and corrupted
 * input): going through protobufjs message objects first cost an object per
 * sub-message, a Long per uint64 and a reflective oneof lookup per envelope, and put the
 * collector far below its throughput target. A stream's containers repeat in almost
 * every envelope, so each decoder remembers the bytes of the containers it has seen and,
 * when the bytes are identical, hands out the same ContainerInfo object again: decoded
 * events are read-only, and the analyzer keys its per-container state on that object.
 */
import protobuf from 'protobufjs/minimal.js';
import { reportFromWire, tripline } from '../../proto/codec.js';
import type { TriplineEvent } from '../../proto/events.js';
import type { AgentReport } from '../../proto/report.js';
import { createEnvelopeReader, type BatchHeader } from './envelope-reader.js';
import { WireCursor } from './wire-cursor.js';

/** A batch whose framing decoded; individually invalid envelopes are left out and counted. */
export interface DecodedBatch {
  readonly batchId: number;
  /** '' when the agent did not set it. */
  readonly agentRunId: string;
  /** Valid envelopes, in batch order. */
  readonly events: TriplineEvent[];
  /** Valid envelopes per kind, indexed like EVENT_KINDS. */
  readonly perKind: readonly number[];
  /** Envelopes refused as invalid. */
  readonly rejected: number;
  /** Why the first refused envelope was invalid (for a log line, not per envelope). */
  readonly firstRejection: string | undefined;
  /** Connects whose dns_name was no hostname: kept, keyed by address, the name dropped. */
  readonly droppedNames: number;
  readonly report: AgentReport | undefined;
  /** Node the batch names: the report's, else the first envelope's; '' if neither. */
  readonly node: string;
}

export type BatchDecodeResult =
  | { readonly ok: true; readonly batch: DecodedBatch }
  | { readonly ok: false; readonly reason: 'malformed' | 'too_many_envelopes'; readonly error: string };

/** Decodes one stream's batches; keeps per-stream caches, so use one per stream. */
export interface BatchDecoder {
  /** Never throws: wire errors come back as 'malformed'. */
  decode(bytes: Buffer): BatchDecodeResult;
}

/**
 * A protobufjs reader whose uint64 fields come out as numbers instead of Long objects,
 * for the rare sub-messages (agent reports) still decoded by the generated code.
 */
class NumberReader extends protobuf.BufferReader {}
(NumberReader.prototype as unknown as { uint64(): number }).uint64 = function readUint64(
  this: protobuf.Reader,
): number {
  const cursor = new WireCursor(this.buf as Buffer, this.pos, this.len);
  const value = cursor.uint64();
  this.pos = cursor.pos;
  return value;
};

export function createBatchDecoder(maxEnvelopes: number): BatchDecoder {
  const envelopes = createEnvelopeReader();
  return {
    decode(bytes: Buffer): BatchDecodeResult {
      try {
        return decodeBatch(bytes);
      } catch (err) {
        return { ok: false, reason: 'malformed', error: `batch does not decode: ${(err as Error).message}` };
      }
    },
  };

  /**
   * One pass when the header fields (5 and 6) come before the envelopes, as agents write
   * them. A header field after an envelope is legal protobuf too: the batch is then
   * decoded again with the whole header, `known`.
   */
  function decodeBatch(bytes: Buffer, known?: BatchHeader): BatchDecodeResult {
    const c = new WireCursor(bytes);
    const header: BatchHeader = known ?? { node: '', containers: new Map() };
    let lateHeader = false;
    let batchId = 0;
    let agentRunId = '';
    let reportStart = -1;
    let reportEnd = -1;
    let count = 0;
    const events: TriplineEvent[] = [];
    const perKind = [0, 0, 0, 0, 0];
    let rejected = 0;
    let firstRejection: string | undefined;
    let droppedNames = 0;
    while (c.pos < c.end) {
      const tag = c.uint32();
      switch (tag >>> 3) {
        case 1:
          c.expect(tag, 0);
          batchId = c.uint64();
          break;
        case 2:
          c.expect(tag, 2);
          agentRunId = c.string();
          break;
        case 3: {
          c.expect(tag, 2);
          const stop = c.delimited();
          if (++count > maxEnvelopes) {
            c.pos = stop;
            break;
          }
          const r = envelopes.read(c, stop, header);
          if (r.ok) {
            events.push(r.event);
            perKind[r.kindIndex]!++;
            if (r.nameDropped) droppedNames++;
          } else {
            rejected++;
            firstRejection ??= `envelope ${count - 1}: ${r.error}`;
          }
          break;
        }
        case 4:
          c.expect(tag, 2);
          reportEnd = c.delimited();
          reportStart = c.pos;
          c.pos = reportEnd;
          break;
        case 5:
          c.expect(tag, 2);
          if (known) c.pos = c.delimited();
          else {
            header.node = c.string();
            lateHeader ||= count > 0;
          }
          break;
        case 6: {
          c.expect(tag, 2);
          if (known) {
            c.pos = c.delimited();
            break;
          }
          const info = envelopes.readListedContainer(c);
          // The first listing of a cgroup id counts.
          if (!header.containers.has(info.cgroupId)) header.containers.set(info.cgroupId, info);
          lateHeader ||= count > 0;
          break;
        }
        default:
          c.skip(tag & 7);
      }
    }
    if (lateHeader) return decodeBatch(bytes, header);
    if (count > maxEnvelopes) {
      return {
        ok: false,
        reason: 'too_many_envelopes',
        error: `batch has ${count} envelopes, more than the collector's limit of ${maxEnvelopes}`,
      };
    }
    const report =
      reportStart < 0
        ? undefined
        : reportFromWire(tripline.v1.AgentReport.decode(new NumberReader(bytes.subarray(reportStart, reportEnd))));
    const node = report?.node || header.node || (events.length > 0 ? events[0]!.node : '');
    return {
      ok: true,
      batch: { batchId, agentRunId, events, perKind, rejected, firstRejection, droppedNames, report, node },
    };
  }
}
