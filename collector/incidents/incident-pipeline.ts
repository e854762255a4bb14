import type { Incident, Severity } from '../../proto/incident.js';
import type { DeadLetterListing } from '../sinks/delivery/dead-letter-reader.js';
import type { ResendReport } from '../sinks/delivery/dead-letter-resend.js';
import type { SinkHealth } from '../sinks/delivery/sink-delivery.js';
import type { FindingSink } from './finding.js';

export type { DeadLetterListing, ResendReport, SinkHealth };

/** Which current incidents `list` returns. */
export interface IncidentFilter {
  readonly rule?: string;
  readonly minSeverity?: Severity;
  /** A workload key ("cluster/namespace/kind/name/container") or a prefix of whole segments. */
  readonly workload?: string;
  /** Most incidents returned (default 1000). */
  readonly limit?: number;
}

/**
 * The incidents stage: aggregates findings into incidents, records every revision in
 * the durable outbox before `submit` returns, and delivers them to every sink.
 */
export interface IncidentPipeline extends FindingSink {
  /** Starts the sink delivery loops, digests and periodic snapshots. */
  start(): void;
  /**
   * Stops delivery (a batch in flight stays in the outbox and is re-sent after restart),
   * fsyncs the outbox, persists cursors and the aggregation table, and closes the sinks.
   */
  stop(): Promise<void>;
  /** Resolves once every revision submitted so far is fsynced (an ingest can ack after it). */
  whenDurable(): Promise<void>;
  /** Open incidents with their current count and last seen, most recently active first. */
  list(filter: IncidentFilter): readonly Incident[];
  /** One open incident by id. */
  get(id: string): Incident | undefined;
  /** Delivery state of every sink. */
  health(): readonly SinkHealth[];
  /** Dead-lettered incidents, oldest first (at most `limit`, default 1000), optionally of one sink. */
  deadLetters(filter: { readonly sink?: string; readonly limit?: number }): Promise<DeadLetterListing>;
  /**
   * Re-queues dead-lettered incidents (of every sink, or of `sink`) in the outbox for
   * their sink and removes them from the dead-letter file once the outbox is fsynced.
   */
  resendDeadLetters(filter: { readonly sink?: string }): Promise<ResendReport>;
}
