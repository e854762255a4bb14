/**
 * The agent's Prometheus metrics, registered on the Registry main.ts passes in. Labels
 * come only from bounded sets: event kind, drop reason, transport error reason, result.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AgentMetrics {
  /** Observations the sensor produced, by kind. */
  readonly eventsSeen: Counter<'kind'>;
  /** Observations handed to the transport, by kind. */
  readonly eventsSent: Counter<'kind'>;
  /** Observations suppressed as repeats, by kind. */
  readonly eventsDeduplicated: Counter<'kind'>;
  /** Observations lost, by kind and DropReason (ringbuf_full, queue_full, spool_full, decode_error). */
  readonly eventsDropped: Counter<'kind' | 'reason'>;
  /** Events waiting in the pipeline queue. */
  readonly queueDepth: Gauge;
  /** Bytes held in the on-disk spool. */
  readonly spoolBytes: Gauge;
  /** Batches written to a collector stream (resends included). */
  readonly batchesSent: Counter;
  /** Batches the collector acknowledged. */
  readonly batchesAcked: Counter;
  /** Batches given up on, by reason (rejected, spool_full, spool_corrupt). */
  readonly batchesDropped: Counter<'reason'>;
  /** Envelopes the collector refused as invalid in an acknowledged batch. */
  readonly envelopesRejected: Counter;
  /** Streams opened after the first one. */
  readonly reconnects: Counter;
  /** Stream and spool failures, by reason (unavailable, unauthenticated, permission_denied, …). */
  readonly transportErrors: Counter<'reason'>;
  /** Time from writing a batch to its acknowledgement. */
  readonly ackLatency: Histogram;
  /** Container resolutions, by result (cached, walked, unknown). */
  readonly resolutions: Counter<'result'>;
  /** Walks of the cgroup v2 tree (start-up and cache misses). */
  readonly cgroupWalks: Counter;
}

/** Creates and registers the agent's metrics on `registry`. */
export function createAgentMetrics(registry: Registry): AgentMetrics {
  const registers = [registry];
  return {
    eventsSeen: new Counter({
      name: 'tripline_agent_events_total',
      help: 'Observations produced by the sensor.',
      labelNames: ['kind'],
      registers,
    }),
    eventsSent: new Counter({
      name: 'tripline_agent_events_sent_total',
      help: 'Observations handed to the transport.',
      labelNames: ['kind'],
      registers,
    }),
    eventsDeduplicated: new Counter({
      name: 'tripline_agent_events_deduplicated_total',
      help: 'Observations suppressed as repeats of a recent one.',
      labelNames: ['kind'],
      registers,
    }),
    eventsDropped: new Counter({
      name: 'tripline_agent_events_dropped_total',
      help: 'Observations lost before reaching the collector.',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'tripline_agent_queue_depth',
      help: 'Events waiting in the pipeline queue.',
      registers,
    }),
    spoolBytes: new Gauge({ name: 'tripline_agent_spool_bytes', help: 'Bytes held in the on-disk spool.', registers }),
    batchesSent: new Counter({
      name: 'tripline_agent_batches_sent_total',
      help: 'Batches written to a collector stream, resends included.',
      registers,
    }),
    batchesAcked: new Counter({
      name: 'tripline_agent_batches_acked_total',
      help: 'Batches acknowledged by the collector.',
      registers,
    }),
    batchesDropped: new Counter({
      name: 'tripline_agent_batches_dropped_total',
      help: 'Batches given up on.',
      labelNames: ['reason'],
      registers,
    }),
    envelopesRejected: new Counter({
      name: 'tripline_agent_envelopes_rejected_total',
      help: 'Envelopes the collector refused as invalid.',
      registers,
    }),
    reconnects: new Counter({
      name: 'tripline_agent_reconnects_total',
      help: 'Collector streams opened after the first.',
      registers,
    }),
    transportErrors: new Counter({
      name: 'tripline_agent_transport_errors_total',
      help: 'Collector stream and spool failures.',
      labelNames: ['reason'],
      registers,
    }),
    ackLatency: new Histogram({
      name: 'tripline_agent_batch_ack_latency_seconds',
      help: 'Time from writing a batch to its acknowledgement.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    resolutions: new Counter({
      name: 'tripline_agent_container_resolutions_total',
      help: 'cgroup id to container resolutions.',
      labelNames: ['result'],
      registers,
    }),
    cgroupWalks: new Counter({
      name: 'tripline_agent_cgroup_walks_total',
      help: 'Walks of the cgroup v2 tree.',
      registers,
    }),
  };
}
