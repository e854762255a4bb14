import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';
import { parseTlsClientConfig, readSecret, type TlsClientConfig } from '../http-post.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';

export interface KafkaSaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  /** From `password` or `passwordFile`; never logged. */
  readonly password: string;
}

export interface KafkaSinkConfig extends BaseSinkConfig {
  readonly type: 'kafka';
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
  /** Record value: Tripline's incident JSON or an OCSF Detection Finding. */
  readonly format: 'json' | 'ocsf';
  /**
   * Idempotent producer (default false): broker-side de-duplication of the producer's own
   * internal retries. kafkajs marks it experimental, and librdkafka's mock cluster cannot
   * serve it (no controller id for InitProducerId), so it is opt-in. Needs the
   * IdempotentWrite ACL on secured clusters.
   */
  readonly idempotent: boolean;
  readonly compression: 'none' | 'gzip';
  /** TLS to the brokers; `tls: {}` uses the system CAs. */
  readonly tls: TlsClientConfig | undefined;
  readonly sasl: KafkaSaslConfig | undefined;
  readonly connectionTimeoutMs: number;
  /** Deadline of one produce request. */
  readonly requestTimeoutMs: number;
}

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export function parseKafkaSinkConfig(raw: Record<string, unknown>, path: string, problems: Problems): KafkaSinkConfig {
  // Kafka bounds a produce request's record batch (message.max.bytes, 1 MiB by default):
  // 100 incidents of 1-6 KiB each stay well below it.
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: 100 });
  const brokers = raw.brokers;
  if (
    !Array.isArray(brokers) ||
    brokers.length === 0 ||
    !brokers.every((b) => typeof b === 'string' && /^[^\s:]+:\d{1,5}$/.test(b))
  ) {
    problems.add(`${path}.brokers`, 'must list bootstrap brokers as "host:port"');
  }
  const topic = raw.topic;
  if (typeof topic !== 'string' || !TOPIC.test(topic) || topic === '.' || topic === '..') {
    problems.add(`${path}.topic`, 'must be a Kafka topic name (letters, digits, ".", "_", "-"; ≤ 249)');
  }
  const clientId = raw.clientId ?? 'tripline-collector';
  if (typeof clientId !== 'string' || clientId === '') problems.add(`${path}.clientId`, 'must be a non-empty string');
  const format = raw.format ?? 'json';
  if (format !== 'json' && format !== 'ocsf') problems.add(`${path}.format`, 'must be json or ocsf');
  const idempotent = raw.idempotent ?? false;
  if (typeof idempotent !== 'boolean') problems.add(`${path}.idempotent`, 'must be true or false');
  const compression = raw.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') problems.add(`${path}.compression`, 'must be none or gzip');
  const duration = (key: string, dflt: string): number => {
    const ms = parseDuration(raw[key] ?? dflt);
    if (ms === undefined || ms <= 0) {
      problems.add(`${path}.${key}`, 'must be a positive duration like "10s"');
      return parseDuration(dflt) ?? 10_000;
    }
    return ms;
  };
  return Object.freeze({
    ...base,
    type: 'kafka' as const,
    brokers: Object.freeze(Array.isArray(brokers) ? brokers.map(String) : []),
    topic: String(topic),
    clientId: String(clientId),
    format: format as 'json' | 'ocsf',
    idempotent: idempotent === true,
    compression: compression as 'none' | 'gzip',
    tls: parseTlsClientConfig(raw.tls, `${path}.tls`, problems),
    sasl: parseSasl(raw.sasl, `${path}.sasl`, problems),
    connectionTimeoutMs: duration('connectionTimeout', '5s'),
    requestTimeoutMs: duration('requestTimeout', '30s'),
  });
}

function parseSasl(raw: unknown, path: string, problems: Problems): KafkaSaslConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.add(path, 'must be an object with mechanism, username and password');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const mechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
  if (!mechanisms.includes(r.mechanism as (typeof mechanisms)[number])) {
    problems.add(`${path}.mechanism`, `must be one of ${mechanisms.join(', ')}`);
  }
  if (typeof r.username !== 'string' || r.username === '') problems.add(`${path}.username`, 'is required');
  return Object.freeze({
    mechanism: r.mechanism as KafkaSaslConfig['mechanism'],
    username: String(r.username),
    password: readSecret(r, path, problems, 'password'),
  });
}
