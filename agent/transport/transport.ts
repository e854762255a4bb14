import type { EventKind } from '../../proto/events.js';
import type { AgentReport, DropReason } from '../../proto/report.js';
import type { EncodedContainer } from './batch-encoding.js';

/** One envelope, already encoded, and what it is (for drop accounting without decoding). */
export interface OutgoingEnvelope {
  readonly kind: EventKind;
  readonly cgroupId: number;
  /** Serialized tripline.v1.Envelope without node and container: the batch carries those once. */
  readonly bytes: Uint8Array;
  readonly container: EncodedContainer;
}

/** What the pipeline hands over: envelopes in order and, once per interval, the report. */
export interface OutgoingBatch {
  /** Node of every envelope. */
  readonly node: string;
  readonly envelopes: readonly OutgoingEnvelope[];
  readonly report?: AgentReport;
}

/**
 * Outcome of `send`. 'retryable' means nothing was taken (the transport is saturated and
 * has nowhere to put more); the caller keeps the batch and tries again later. 'failure'
 * means the batch was dropped, with the reason to count it under.
 */
export type SendResult =
  | { readonly status: 'success' }
  | { readonly status: 'retryable'; readonly error: string; readonly retryInMillis?: number }
  | { readonly status: 'failure'; readonly error: string; readonly reason: DropReason };

/** Carries batches from the agent to wherever they go (a collector stream, stdout). */
export interface Transport {
  /** "grpc" or "print", for logs. */
  readonly name: string;
  /** Opens files and connections; rejects listing every start-up problem. */
  start(): Promise<void>;
  /** Takes ownership of a batch; never throws, never blocks on the network. */
  send(batch: OutgoingBatch): SendResult;
  /**
   * Delivers (or persists) what it holds, waiting at most `timeoutMs`, then closes.
   * Safe to call twice.
   */
  stop(timeoutMs?: number): Promise<void>;
}
