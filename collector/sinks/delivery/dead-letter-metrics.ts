import { Counter, type Registry } from 'prom-client';

export interface DeadLetterMetrics {
  /** Dead-lettered incidents re-queued in the outbox for their sink. */
  readonly resent: Counter<'sink'>;
}

export function createDeadLetterMetrics(registry: Registry): DeadLetterMetrics {
  return {
    resent: new Counter({
      name: 'tripline_collector_dead_letters_resent_total',
      help: 'Dead-lettered incidents re-queued in the outbox for their sink by a resend.',
      labelNames: ['sink'],
      registers: [registry],
    }),
  };
}
