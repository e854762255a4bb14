/**
 * Prometheus metrics of the eBPF sensor, registered on the agent's private Registry.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { EventKind } from '../../../proto/events.js';
import type { DropReason } from '../../../proto/report.js';
import { DNS_PARSE_ERRORS, type DnsParseError } from '../../dns/dns-message.js';

/**
 * What became of a DNS answer the kernel saw: named (its addresses name later connects),
 * refused by the parser, cut at the kernel's copy size, lost (ring buffer full or over
 * the container's rate in the kernel), undecodable, or no_namespace (received by a
 * socket whose network namespace the kernel could not tell).
 */
export type DnsAnswerResult = 'named' | 'cut' | 'lost' | 'undecodable' | 'no_namespace' | DnsParseError;
const DNS_RESULTS: readonly DnsAnswerResult[] = [
  'named',
  'cut',
  'lost',
  'undecodable',
  'no_namespace',
  ...DNS_PARSE_ERRORS,
];

export interface SensorMetrics {
  event(kind: EventKind): void;
  drops(kind: EventKind, reason: DropReason, count: number): void;
  attachSeconds(seconds: number): void;
  /** `count` DNS answers (default 1) with this result. */
  dnsAnswer(result: DnsAnswerResult, count?: number): void;
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
      'DNS answers from trusted resolvers, by result: named (their addresses name later connects), cut, lost ' +
      '(ring buffer full or over the per-container rate in the kernel), undecodable, no_namespace (a socket ' +
      'older than the agent, on kernels without the namespace helper), or why the parser refused one.',
    labelNames: ['result'],
    registers: [registry],
  });
  const dnsChildren = new Map(DNS_RESULTS.map((result) => [result, dnsAnswers.labels({ result })]));
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
    dnsAnswer(result, count = 1) {
      dnsChildren.get(result)!.inc(count);
    },
  };
}
