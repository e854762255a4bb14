import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { createKafkaSink, parseKafkaSinkConfig } from '../../../collector/sinks/kafka/kafka-sink.js';
import type { Sink } from '../../../collector/sinks/sink.js';
import { startKafkaMock, type KafkaMockCluster } from '../../helpers/kafka-mock.js';
import { waitFor } from '../../helpers/wait.js';
import { connectIncident, execIncident } from './incident-fixture.js';

const PRODUCE = 0;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function mock(topics: Record<string, number>): KafkaMockCluster {
  const cluster = startKafkaMock({ topics });
  cleanups.push(() => cluster.close());
  return cluster;
}

function sinkFor(raw: Record<string, unknown>): Sink {
  const problems = new Problems();
  const config = parseKafkaSinkConfig({ id: 'kafka', type: 'kafka', ...raw }, 'sinks[0]', problems);
  expect(problems.all).toEqual([]);
  const sink = createKafkaSink(config, { log: silentLogger(), registry: new Registry() });
  cleanups.push(() => sink.close());
  return sink;
}

/** Reads everything on `topic` from the beginning with a consumer group. */
async function consume(brokers: string[], topic: string): Promise<EachMessagePayload[]> {
  const kafka = new Kafka({ clientId: 'test-consumer', brokers, logLevel: logLevel.NOTHING });
  // The mock needs a short session timeout, with fetch waits below it.
  const consumer: Consumer = kafka.consumer({
    groupId: `g-${topic}`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    rebalanceTimeout: 6000,
  });
  cleanups.push(() => consumer.disconnect());
  const received: EachMessagePayload[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async (payload) => {
      received.push(payload);
    },
  });
  return received;
}

describe('Kafka sink into librdkafka mock brokers', () => {
  it('produces one record per incident keyed by workload, with headers, readable by a consumer group', async () => {
    const cluster = mock({ incidents: 3 });
    const sink = sinkFor({ brokers: cluster.brokers, topic: 'incidents' });
    const result = await sink.send([execIncident(), connectIncident()], AbortSignal.timeout(20_000));
    expect(result).toEqual({ status: 'success' });

    const received = await consume(cluster.brokers, 'incidents');
    await waitFor(() => received.length >= 2, { timeoutMs: 30_000, what: '2 records consumed' });
    const byRule = new Map(received.map((r) => [r.message.headers?.['tripline-rule']?.toString(), r]));
    const exec = byRule.get('unexpected-exec')!;
    expect(exec.message.key?.toString()).toBe('prod-eu/payments/Deployment/checkout/api');
    expect(exec.message.headers?.['tripline-idempotency-key']?.toString()).toBe('inc-unexpected-exec-0001:1');
    expect(exec.message.headers?.['tripline-severity']?.toString()).toBe('high');
    expect(exec.message.timestamp).toBe(String(execIncident().lastSeenMs));
    expect(JSON.parse(exec.message.value!.toString())).toMatchObject({
      schema: 'tripline.incident/v1',
      id: 'inc-unexpected-exec-0001',
      workload: { key: 'prod-eu/payments/Deployment/checkout/api' },
    });
    // Same key, same partition: a workload's incidents stay in order.
    expect(byRule.get('unexpected-egress')!.partition).toBe(exec.partition);
  });

  it('produces gzip-compressed OCSF Detection Findings when format is ocsf', async () => {
    const cluster = mock({ findings: 1 });
    const sink = sinkFor({ brokers: cluster.brokers, topic: 'findings', format: 'ocsf', compression: 'gzip' });
    expect(await sink.send([connectIncident()], AbortSignal.timeout(20_000))).toEqual({ status: 'success' });
    const received = await consume(cluster.brokers, 'findings');
    await waitFor(() => received.length >= 1, { timeoutMs: 30_000, what: 'a record consumed' });
    const finding = JSON.parse(received[0]!.message.value!.toString()) as Record<string, unknown>;
    expect(finding).toMatchObject({
      class_uid: 2004,
      severity_id: 3,
      finding_info: {
        attacks: [{ technique: { uid: 'T1071' }, tactic: { uid: 'TA0011', name: 'Command and Control' } }],
      },
      evidences: [{ dst_endpoint: { ip: '203.0.113.9', port: 4444 }, connection_info: { protocol_name: 'tcp' } }],
    });
    expect(received[0]!.message.headers?.['tripline-schema']?.toString()).toMatch(/^ocsf\//);
  });

  it('classifies broker errors: retryable after transient ones, failure for a record the broker refuses', async () => {
    const cluster = mock({ incidents: 1 });
    const sink = sinkFor({ brokers: cluster.brokers, topic: 'incidents' });
    expect(await sink.send([execIncident()], AbortSignal.timeout(20_000))).toEqual({ status: 'success' });
    // NOT_ENOUGH_REPLICAS (19) on every attempt the producer makes: transient to Kafka.
    cluster.failRequests(PRODUCE, [19, 19, 19, 19, 19]);
    expect(await sink.send([execIncident({ revision: 2 })], AbortSignal.timeout(20_000))).toMatchObject({
      status: 'retryable',
      error: expect.stringContaining('replicas'),
    });
    // MESSAGE_TOO_LARGE (10): no retry makes the record smaller.
    cluster.failRequests(PRODUCE, [10]);
    expect(await sink.send([execIncident({ revision: 3 })], AbortSignal.timeout(20_000))).toMatchObject({
      status: 'failure',
      error: expect.stringContaining('larger than the max message size'),
    });
    // The producer is still usable afterwards.
    expect(await sink.send([execIncident({ revision: 4 })], AbortSignal.timeout(20_000))).toEqual({
      status: 'success',
    });
  });

  it('reports brokers that are down as retryable, not a throw', async () => {
    const cluster = mock({ incidents: 1 });
    const brokers = cluster.brokers;
    cluster.close();
    const sink = sinkFor({ brokers, topic: 'incidents', connectionTimeout: '300ms' });
    expect(await sink.send([execIncident()], AbortSignal.timeout(20_000))).toMatchObject({ status: 'retryable' });
  });
});
