import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EVENT_KINDS, type EventKind } from '../../proto/events.js';

/** Why ingest refused a stream, a batch or an envelope (the `reason` label). */
export const INGEST_REJECT_REASONS = [
  'auth_missing',
  'auth_invalid',
  'auth_forbidden',
  'auth_unavailable',
  'oversized',
  'malformed',
  'too_many_envelopes',
  'invalid_envelope',
  'batch_order',
  'agent_run_changed',
  'apply_failed',
] as const;
export type IngestRejectReason = (typeof INGEST_REJECT_REASONS)[number];

/** Ingest's instruments on the registry it was given. */
export interface IngestMetrics {
  readonly batches: Counter<never>;
  readonly envelopes: Counter<'kind'>;
  readonly rejected: Counter<'reason'>;
  readonly droppedNames: Counter<never>;
  readonly streams: Gauge<never>;
  readonly applySeconds: Histogram<never>;
  readonly batchBytes: Histogram<never>;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const metrics: IngestMetrics = {
    batches: new Counter({
      name: 'tripline_collector_ingest_batches_total',
      help: 'Event batches applied and acknowledged.',
      registers: [registry],
    }),
    envelopes: new Counter({
      name: 'tripline_collector_ingest_envelopes_total',
      help: 'Envelopes applied, by event kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'tripline_collector_ingest_rejected_total',
      help: 'Streams, batches (or, for invalid_envelope, envelopes) refused, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    droppedNames: new Counter({
      name: 'tripline_collector_ingest_dns_names_dropped_total',
      help: 'Connects whose DNS name was no hostname: the connect was kept, keyed by its address.',
      registers: [registry],
    }),
    streams: new Gauge({
      name: 'tripline_collector_ingest_streams',
      help: 'Agent streams open.',
      registers: [registry],
    }),
    applySeconds: new Histogram({
      name: 'tripline_collector_ingest_apply_seconds',
      help: 'Time the intake took to apply one batch.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    batchBytes: new Histogram({
      name: 'tripline_collector_ingest_batch_bytes',
      help: 'Size of received batches on the wire (before decoding).',
      buckets: [1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216],
      registers: [registry],
    }),
  };
  // Every label value exists from the start, so rate() sees the first increment.
  for (const kind of EVENT_KINDS) metrics.envelopes.labels(kind).inc(0);
  for (const reason of INGEST_REJECT_REASONS) metrics.rejected.labels(reason).inc(0);
  return metrics;
}

/** Adds one batch's per-kind tallies (indexed like EVENT_KINDS) without per-envelope label lookups. */
export function countEnvelopes(metrics: IngestMetrics, perKind: readonly number[]): void {
  for (let i = 0; i < EVENT_KINDS.length; i++) {
    const n = perKind[i]!;
    if (n > 0) metrics.envelopes.labels(EVENT_KINDS[i] as EventKind).inc(n);
  }
}
