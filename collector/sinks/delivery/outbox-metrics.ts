import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface OutboxMetrics {
  readonly fullTotal: Counter;
  readonly droppedTotal: Counter<'sink'>;
  /** reason: write, encode, fsync, cursor. */
  readonly writeFailures: Counter<'reason'>;
  readonly damagedTotal: Counter;
  readonly fsyncSeconds: Histogram;
}

export function createOutboxMetrics(registry: Registry, bytes: () => number): OutboxMetrics {
  new Gauge({
    name: 'tripline_collector_outbox_bytes',
    help: 'Bytes held in outbox segment files.',
    registers: [registry],
    collect() {
      this.set(bytes());
    },
  });
  return {
    fullTotal: new Counter({
      name: 'tripline_collector_outbox_full_total',
      help: 'Appends that found the outbox full (the record was refused, or the oldest segment dropped).',
      registers: [registry],
    }),
    droppedTotal: new Counter({
      name: 'tripline_collector_outbox_dropped_total',
      help: 'Records a sink never received because the outbox was full and dropped its oldest segment.',
      labelNames: ['sink'],
      registers: [registry],
    }),
    writeFailures: new Counter({
      name: 'tripline_collector_outbox_write_failures_total',
      help: 'Outbox writes, encodings, fsyncs or cursor saves that failed, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    damagedTotal: new Counter({
      name: 'tripline_collector_outbox_damaged_records_total',
      help: 'Outbox lines that failed their checksum and were skipped.',
      registers: [registry],
    }),
    fsyncSeconds: new Histogram({
      name: 'tripline_collector_outbox_fsync_seconds',
      help: 'Duration of one group commit (fsync of the outbox).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
