import { Counter, Gauge, type Registry } from 'prom-client';

/** Per-sink state the gauges read at scrape time. */
export interface SinkGaugeSource {
  /** Records after the sink's outbox cursor. */
  depth(): number;
  /** Age of the oldest record the sink has not finished with, 0 when caught up. */
  oldestAgeSeconds(): number;
  /** Incidents in a batch that is waiting to be retried. */
  retryBacklog(): number;
  /** Unix seconds of the last successful send, 0 when none yet. */
  lastSuccessSeconds(): number;
}

export interface DeliveryMetrics {
  readonly sent: Counter<'sink'>;
  /** reason: retryable | rate-limited | timeout | failure | threw. */
  readonly failures: Counter<'sink' | 'reason'>;
  readonly deadLettered: Counter<'sink'>;
  /** Makes a sink's gauges visible; call once per sink. */
  addSink(id: string, source: SinkGaugeSource): void;
}

export function createDeliveryMetrics(registry: Registry): DeliveryMetrics {
  const sources = new Map<string, SinkGaugeSource>();
  const gauge = (name: string, help: string, read: (s: SinkGaugeSource) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['sink'],
      registers: [registry],
      collect() {
        for (const [sink, s] of sources) this.set({ sink }, read(s));
      },
    });
  };
  gauge('tripline_collector_outbox_depth', 'Outbox records a sink has not finished with.', (s) => s.depth());
  gauge(
    'tripline_collector_outbox_oldest_age_seconds',
    'Age of the oldest outbox record a sink has not finished with.',
    (s) => s.oldestAgeSeconds(),
  );
  gauge('tripline_collector_sink_retry_backlog', 'Incidents waiting for a retry to a sink.', (s) => s.retryBacklog());
  gauge(
    'tripline_collector_sink_last_success_timestamp_seconds',
    'Unix time of the last successful send to a sink.',
    (s) => s.lastSuccessSeconds(),
  );
  return {
    sent: new Counter({
      name: 'tripline_collector_sink_sent_total',
      help: 'Incidents a sink accepted.',
      labelNames: ['sink'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'tripline_collector_sink_failures_total',
      help: 'Failed send attempts by reason (retryable, rate-limited, timeout, failure, threw).',
      labelNames: ['sink', 'reason'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'tripline_collector_dead_letter_total',
      help: 'Incidents written to the dead-letter file instead of a sink.',
      labelNames: ['sink'],
      registers: [registry],
    }),
    addSink(id, source) {
      sources.set(id, source);
    },
  };
}
