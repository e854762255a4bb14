import { Counter, Gauge, type Registry } from 'prom-client';

export interface IncidentMetrics {
  /** New incidents by rule and severity. */
  readonly incidents: Counter<'rule' | 'severity'>;
  /** Revisions recorded in the outbox, by reason (new, severity, renotify, digest). */
  readonly revisions: Counter<'reason'>;
  /** Revisions the outbox did not take, by reason (full, write-error, closed). */
  readonly unrecorded: Counter<'reason'>;
  /** Open incidents evicted, by reason (global-cap, workload-cap). */
  readonly evicted: Counter<'reason'>;
  /** New incidents held back by their workload's budget. */
  readonly held: Counter;
  /** Held incidents evicted before their workload's budget let them out. */
  readonly droppedUnsent: Counter;
  /** Findings that raised an unexpected error in aggregation. */
  readonly errors: Counter;
}

export function createIncidentMetrics(registry: Registry, openCount: () => number): IncidentMetrics {
  new Gauge({
    name: 'tripline_collector_incidents_open',
    help: 'Incidents held open for aggregation.',
    registers: [registry],
    collect() {
      this.set(openCount());
    },
  });
  return {
    incidents: new Counter({
      name: 'tripline_collector_incidents_total',
      help: 'New incidents by rule and severity.',
      labelNames: ['rule', 'severity'],
      registers: [registry],
    }),
    revisions: new Counter({
      name: 'tripline_collector_incident_revisions_total',
      help: 'Incident revisions recorded for delivery, by reason (new, severity, renotify, digest, deferred).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    unrecorded: new Counter({
      name: 'tripline_collector_incident_revisions_unrecorded_total',
      help: 'Incident revisions the outbox did not take, by reason (full, write-error, closed).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    evicted: new Counter({
      name: 'tripline_collector_incidents_evicted_total',
      help: 'Open incidents evicted to bound memory, by reason (global-cap, workload-cap).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    held: new Counter({
      name: 'tripline_collector_incidents_held_total',
      help: "New incidents held back by their workload's new-incident budget (sent later).",
      registers: [registry],
    }),
    droppedUnsent: new Counter({
      name: 'tripline_collector_incidents_dropped_unsent_total',
      help: 'Held incidents evicted before they could be sent (a workload flooding past its caps).',
      registers: [registry],
    }),
    errors: new Counter({
      name: 'tripline_collector_incident_errors_total',
      help: 'Findings whose aggregation failed unexpectedly.',
      registers: [registry],
    }),
  };
}
