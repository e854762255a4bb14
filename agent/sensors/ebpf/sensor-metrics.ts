/**
 * Prometheus metrics of the eBPF sensor, registered on the agent's private Registry.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { EventKind } from '../../../proto/events.js';
import type { DropReason } from '../../../proto/report.js';

export interface SensorMetrics {
  event(kind: EventKind): void;
  drops(kind: EventKind, reason: DropReason, count: number): void;
  attachSeconds(seconds: number): void;
  /** A DNS answer read: 'named' (its addresses now carry the name) or why it was not used. */
  dnsAnswer(result: string): void;
}

/** Metrics on `registry`; without one, counting is a no-op. */
export function createSensorMetrics(registry: Registry | undefined): SensorMetrics {
  if (!registry) return { event() {}, drops() {}, attachSeconds() {}, dnsAnswer() {} };
  const events = new Counter({
    name: 'tripline_agent_sensor_events_total',
    help: 'Observations the sensor decoded and emitted, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const drops = new Counter({
    name: 'tripline_agent_sensor_drops_total',
    help: 'Observations the sensor lost, by kind and reason (ringbuf_full: kernel ring buffer had no room).',
    labelNames: ['kind', 'reason'],
    registers: [registry],
  });
  const attach = new Histogram({
    name: 'tripline_agent_sensor_attach_seconds',
    help: 'Time from start() until every program was loaded and attached.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const dnsAnswers = new Counter({
    name: 'tripline_agent_dns_answers_total',
    help:
      'DNS answers from trusted resolvers the sensor read, by result: named (their addresses name later connects), ' +
      'or the reason the message was not used (rcode: NXDOMAIN and other failures, the usual bulk of refusals).',
    labelNames: ['result'],
    registers: [registry],
  });
  // Bound children up front: the hot path only increments.
  const eventChildren = new Map<EventKind, Counter.Internal>();
  return {
    event(kind) {
      let c = eventChildren.get(kind);
      if (!c) {
        c = events.labels({ kind });
        eventChildren.set(kind, c);
      }
      c.inc();
    },
    drops(kind, reason, count) {
      if (count > 0) drops.inc({ kind, reason }, count);
    },
    attachSeconds(seconds) {
      attach.observe(seconds);
    },
    dnsAnswer(result) {
      dnsAnswers.inc({ result });
    },
  };
}
