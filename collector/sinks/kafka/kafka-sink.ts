/**
 * Kafka sink: one record per incident on the configured topic, keyed by workload key (so
 * a workload's incidents stay ordered in one partition), acks from all in-sync replicas.
 * Headers carry the idempotency key, rule and severity, so consumers can route and
 * de-duplicate without parsing the value.
 *
 * With `idempotent: true` the broker also discards duplicates of the producer's own
 * internal retries. Either way, re-sends by the outbox after a retryable Result are new
 * records: consumers de-duplicate on the `tripline-idempotency-key` header.
 */
import {
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type KafkaConfig,
  type Message,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Incident } from '../../../proto/incident.js';
import type { Logger } from '../../../lib/logger.js';
import { failure, retryable, SUCCESS, type Result } from '../../../lib/result.js';
import { idempotencyKey, incidentJson } from '../formats/incident-json.js';
import { OCSF_VERSION, toOcsfDetectionFinding } from '../formats/ocsf.js';
import { tlsConnectionOptions } from '../http-post.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import type { KafkaSinkConfig } from './kafka-config.js';

export { parseKafkaSinkConfig, type KafkaSinkConfig } from './kafka-config.js';

/** The record of one incident. */
export function kafkaMessage(incident: Incident, format: 'json' | 'ocsf'): Message {
  return {
    key: incident.workloadKey,
    value: JSON.stringify(format === 'ocsf' ? toOcsfDetectionFinding(incident) : incidentJson(incident)),
    timestamp: String(incident.lastSeenMs),
    headers: {
      'tripline-idempotency-key': idempotencyKey(incident),
      'tripline-rule': incident.rule,
      'tripline-severity': incident.severity,
      'tripline-schema': format === 'ocsf' ? `ocsf/${OCSF_VERSION}/detection_finding` : 'tripline.incident/v1',
      'content-type': 'application/json',
    },
  };
}

type Reason = 'connect' | 'retryable' | 'fatal' | 'aborted';

/** The kafkajs client settings: TLS and SASL passed through from the sink config. */
export function kafkaClientConfig(config: KafkaSinkConfig, log: Logger): KafkaConfig {
  return {
    clientId: config.clientId,
    brokers: [...config.brokers],
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    ssl: config.tls ? tlsConnectionOptions(config.tls) : undefined,
    sasl: config.sasl ? ({ ...config.sasl } as SASLOptions) : undefined,
    // Connecting retries briefly too: a broker that is down is the outbox's to wait out.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogs(log),
  };
}

export function createKafkaSink(config: KafkaSinkConfig, deps: SinkDeps): Sink {
  const log = deps.log.child({ component: 'sink', sink: config.id, type: 'kafka' });
  const errors = errorCounter(deps.registry);
  const kafka = new Kafka(kafkaClientConfig(config, log));
  const producer: Producer = kafka.producer({
    // The same murmur2 partitioner as the Java client, so keys land where other producers put them.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: config.idempotent,
    // An idempotent producer needs in-order, single in-flight requests and internal retries;
    // retries stay few and short because the outbox owns real backoff.
    maxInFlightRequests: config.idempotent ? 1 : undefined,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    allowAutoTopicCreation: false,
  });
  let connected: Promise<void> | undefined;
  producer.on(producer.events.DISCONNECT, () => {
    connected = undefined;
  });

  function count(reason: Reason): void {
    errors.inc({ sink: config.id, reason });
  }

  async function attempt(incidents: readonly Incident[]): Promise<Result> {
    try {
      connected ??= producer.connect();
      await connected;
    } catch (err) {
      connected = undefined;
      count('connect');
      return classify(err, 'connect');
    }
    try {
      await producer.send({
        topic: config.topic,
        acks: -1,
        timeout: config.requestTimeoutMs,
        compression: config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: incidents.map((i) => kafkaMessage(i, config.format)),
      });
      return SUCCESS;
    } catch (err) {
      const result = classify(err, 'produce');
      count(result.status === 'failure' ? 'fatal' : 'retryable');
      return result;
    }
  }

  return {
    id: config.id,
    type: 'kafka',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,
    async send(incidents, signal) {
      if (incidents.length === 0) return SUCCESS;
      if (signal.aborted) return retryable('aborted before sending');
      // kafkajs cannot cancel a produce; an abort answers now and the late result is dropped.
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<Result>((resolve) => {
        onAbort = () => {
          count('aborted');
          resolve(retryable('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([attempt(incidents), aborted]);
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      connected = undefined;
      await producer.disconnect().catch((err: unknown) => log.debug({ err }, 'kafka producer disconnect failed'));
    },
  };
}

/** kafkajs marks its timeouts non-retriable for itself; the outbox can still wait them out. */
const TIMEOUTS = new Set([
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
]);

/**
 * kafkajs wraps the cause of a failed send (after its own retries) in
 * KafkaJSNumberOfRetriesExceeded; the innermost error says whether another attempt can
 * help: authentication, authorization and record errors (too large, invalid) cannot.
 */
export function classify(err: unknown, what: string): Result {
  let root = err as { name?: string; message?: string; retriable?: boolean; cause?: unknown; originalError?: unknown };
  for (let depth = 0; depth < 5; depth++) {
    const next = (root.cause ?? root.originalError) as typeof root | undefined;
    if (!next || typeof next !== 'object') break;
    root = next;
  }
  const detail = `kafka ${what}: ${root.name ?? 'Error'}: ${root.message ?? String(err)}`;
  if (root.retriable === false && !TIMEOUTS.has(root.name ?? '')) return failure(detail);
  return retryable(detail);
}

function kafkajsLogs(
  log: Logger,
): () => (entry: { level: logLevel; log: { message: string } & Record<string, unknown> }) => void {
  // kafkajs logs every internal retry; they surface as Results, so they stay at debug.
  return () => (entry) => {
    const { message, ...rest } = entry.log;
    log.debug({ kafkajs: rest }, message);
  };
}

function errorCounter(registry: Registry): Counter<'sink' | 'reason'> {
  const name = 'tripline_collector_kafka_sink_errors_total';
  return (
    (registry.getSingleMetric(name) as Counter<'sink' | 'reason'> | undefined) ??
    new Counter({
      name,
      help: 'Kafka sink send errors by reason: connect, retryable, fatal, aborted.',
      labelNames: ['sink', 'reason'],
      registers: [registry],
    })
  );
}
