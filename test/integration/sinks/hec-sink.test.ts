import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { createHecSink, parseHecSinkConfig } from '../../../collector/sinks/hec/hec-sink.js';
import type { Sink } from '../../../collector/sinks/sink.js';
import { startFakeHec, type FakeHec } from '../../helpers/fake-hec.js';
import { connectIncident, execIncident } from './incident-fixture.js';
import { selfSignedLocalhostCert } from '../../helpers/self-signed-cert.js';

const TOKEN = '6f1c1f7e-5d7a-4c1e-9b1e-0d3c2b1a0f9e';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hec(): Promise<FakeHec> {
  const h = await startFakeHec(TOKEN);
  cleanups.push(() => h.close());
  return h;
}

function sinkFor(raw: Record<string, unknown>): Sink {
  const problems = new Problems();
  const config = parseHecSinkConfig({ id: 'splunk', type: 'hec', token: TOKEN, ...raw }, 'sinks[0]', problems);
  expect(problems.all).toEqual([]);
  const sink = createHecSink(config, { log: silentLogger(), registry: new Registry() });
  cleanups.push(() => sink.close());
  return sink;
}

describe('Splunk HEC sink (fake HEC receiver)', () => {
  it('posts a batch of event envelopes with the Splunk token, incident JSON as the event', async () => {
    const receiver = await hec();
    const sink = sinkFor({ url: receiver.url, index: 'security', sourcetype: 'tripline:incident' });
    const result = await sink.send([execIncident(), connectIncident()], AbortSignal.timeout(5000));
    expect(result).toEqual({ status: 'success' });
    expect(receiver.accepted).toHaveLength(1);
    const [req] = receiver.accepted;
    expect(req!.headers.authorization).toBe(`Splunk ${TOKEN}`);
    expect(req!.events).toHaveLength(2);
    expect(req!.events[0]).toMatchObject({
      time: execIncident().lastSeenMs / 1000,
      host: 'node-a',
      source: 'tripline',
      sourcetype: 'tripline:incident',
      index: 'security',
      fields: { rule: 'unexpected-exec', severity: 'high', namespace: 'payments', cluster: 'prod-eu' },
      event: { schema: 'tripline.incident/v1', idempotencyKey: 'inc-unexpected-exec-0001:1', rule: 'unexpected-exec' },
    });
    expect((req!.events[1]!.event as { evidence: { ip: string } }).evidence.ip).toBe('203.0.113.9');
  });

  it('sends OCSF Detection Findings when format is ocsf', async () => {
    const receiver = await hec();
    const sink = sinkFor({ url: `${receiver.url}/services/collector/event`, format: 'ocsf' });
    expect(await sink.send([execIncident()], AbortSignal.timeout(5000))).toEqual({ status: 'success' });
    const [event] = receiver.accepted[0]!.events;
    expect(event!.sourcetype).toBe('tripline:ocsf');
    expect(event!.event).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      severity_id: 4,
      finding_info: { uid: 'inc-unexpected-exec-0001' },
    });
  });

  it('treats an invalid token as a failure no retry fixes', async () => {
    const receiver = await hec();
    const sink = sinkFor({ url: receiver.url, token: 'wrong' });
    const result = await sink.send([execIncident()], AbortSignal.timeout(5000));
    expect(result).toMatchObject({ status: 'failure', error: expect.stringContaining('HEC code 4') });
    expect(receiver.accepted).toHaveLength(0);
  });

  it('treats code 9 (server busy) as retryable and honours Retry-After', async () => {
    const receiver = await hec();
    receiver.queueReply({ status: 503, body: { text: 'Server is busy', code: 9 }, headers: { 'retry-after': '7' } });
    const sink = sinkFor({ url: receiver.url });
    expect(await sink.send([execIncident()], AbortSignal.timeout(5000))).toMatchObject({
      status: 'retryable',
      retryInMillis: 7000,
    });
    // The next attempt goes through.
    expect(await sink.send([execIncident()], AbortSignal.timeout(5000))).toEqual({ status: 'success' });
  });

  it('treats "Invalid data format" as a failure and says which event', async () => {
    const receiver = await hec();
    receiver.queueReply({ status: 400, body: { text: 'Invalid data format', code: 6, 'invalid-event-number': 1 } });
    const sink = sinkFor({ url: receiver.url });
    expect(await sink.send([execIncident(), connectIncident()], AbortSignal.timeout(5000))).toMatchObject({
      status: 'failure',
      error: expect.stringContaining('(event 1)'),
    });
  });

  it('posts over HTTPS trusting the configured CA, and fails verification without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-hec-tls-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const { keyFile: key, certFile: cert } = selfSignedLocalhostCert(dir);
    const receiver = await startFakeHec(TOKEN, { tls: { key: readFileSync(key), cert: readFileSync(cert) } });
    cleanups.push(() => receiver.close());
    expect(
      await sinkFor({ url: receiver.url, tls: { caFile: cert } }).send([execIncident()], AbortSignal.timeout(5000)),
    ).toEqual({ status: 'success' });
    expect(await sinkFor({ url: receiver.url }).send([execIncident()], AbortSignal.timeout(5000))).toMatchObject({
      status: 'failure',
      error: expect.stringContaining('TLS verification failed'),
    });
    expect(receiver.accepted).toHaveLength(1);
  });

  it('reports a receiver that is down as retryable, not a throw', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const sink = sinkFor({ url: `http://127.0.0.1:${port}` });
    expect(await sink.send([execIncident()], AbortSignal.timeout(5000))).toMatchObject({
      status: 'retryable',
      error: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('gives up on a receiver that does not answer in time, as retryable', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      for (const s of accepted) s.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    });
    const { port } = silent.address() as AddressInfo;
    const sink = sinkFor({ url: `http://127.0.0.1:${port}`, timeout: '200ms' });
    expect(await sink.send([execIncident()], AbortSignal.timeout(5000))).toMatchObject({
      status: 'retryable',
      error: expect.stringContaining('no response within 200 ms'),
    });
  });
  it('stops waiting when the caller aborts the attempt, as retryable', async () => {
    const accepted: Socket[] = [];
    const silent = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      for (const s of accepted) s.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    });
    const { port } = silent.address() as AddressInfo;
    const sink = sinkFor({ url: `http://127.0.0.1:${port}`, timeout: '30s' });
    expect(await sink.send([execIncident()], AbortSignal.timeout(150))).toMatchObject({
      status: 'retryable',
      error: expect.stringContaining('aborted'),
    });
  });
});
