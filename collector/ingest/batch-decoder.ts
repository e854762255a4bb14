/**
 * Wire bytes of one EventBatch → decoded events. Decoding happens here, inside the
 * stream handler, so that bad input becomes a status with a reason instead of a torn
 * stream, and so that one bad envelope costs only itself.
 */
import { eventFromWire, reportFromWire, tripline } from '../../proto/codec.js';
import type { EventKind, TriplineEvent } from '../../proto/events.js';
import type { AgentReport } from '../../proto/report.js';

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
  readonly report: AgentReport | undefined;
  /** Node the batch names: the report's, else the first envelope's; '' if neither. */
  readonly node: string;
}

export type BatchDecodeResult =
  | { readonly ok: true; readonly batch: DecodedBatch }
  | { readonly ok: false; readonly reason: 'malformed' | 'too_many_envelopes'; readonly error: string };

const KIND_INDEX: Readonly<Record<EventKind, number>> = { exec: 0, syscalls: 1, file: 2, listen: 3, connect: 4 };

export function decodeBatch(bytes: Uint8Array, maxEnvelopes: number): BatchDecodeResult {
  let wire: tripline.v1.EventBatch;
  try {
    wire = tripline.v1.EventBatch.decode(bytes);
  } catch (err) {
    return { ok: false, reason: 'malformed', error: `batch does not decode: ${(err as Error).message}` };
  }
  const envelopes = wire.envelopes;
  if (envelopes.length > maxEnvelopes) {
    return {
      ok: false,
      reason: 'too_many_envelopes',
      error: `batch has ${envelopes.length} envelopes, more than the collector's limit of ${maxEnvelopes}`,
    };
  }
  const events: TriplineEvent[] = new Array<TriplineEvent>(envelopes.length);
  const perKind = [0, 0, 0, 0, 0];
  let n = 0;
  let rejected = 0;
  let firstRejection: string | undefined;
  for (let i = 0; i < envelopes.length; i++) {
    const decoded = eventFromWire(envelopes[i]!);
    if (decoded.ok) {
      events[n++] = decoded.value;
      perKind[KIND_INDEX[decoded.value.kind]]!++;
    } else {
      rejected++;
      firstRejection ??= `envelope ${i}: ${decoded.error}`;
    }
  }
  events.length = n;
  const report = wire.report ? reportFromWire(wire.report) : undefined;
  const node = report?.node || (n > 0 ? events[0]!.node : '');
  return {
    ok: true,
    batch: { batchId: Number(wire.batchId), agentRunId: wire.agentRunId, events, perKind, rejected, firstRejection, report, node },
  };
}
