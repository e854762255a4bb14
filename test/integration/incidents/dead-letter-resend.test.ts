import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { incidentsCommand } from '../../../cli/commands/incidents-command.js';
import type { DeadLetterListing, ProfileOperations, ResendReport } from '../../../collector/api/api-operations.js';
import { createApiServer } from '../../../collector/api/api-server.js';
import { createIncidentPipeline } from '../../../collector/incidents/create-incident-pipeline.js';
import type { IncidentPipeline } from '../../../collector/incidents/incident-pipeline.js';
import { parseIncidentPipelineConfig } from '../../../collector/incidents/incident-pipeline-config.js';
import { incidentJson } from '../../../collector/sinks/formats/incident-json.js';
import { parseWebhookSinkConfig } from '../../../collector/sinks/webhook/webhook-config.js';
import { createWebhookSink } from '../../../collector/sinks/webhook/webhook-sink.js';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { startHttpsReceiver, type HttpsReceiver } from '../../helpers/https-receiver.js';
import { waitFor } from '../../helpers/wait.js';
import { connectIncident, execIncident, fileIncident } from '../sinks/incident-fixture.js';
import { finding } from '../../unit/collector/incidents/finding-fixture.js';

const SECRET = 'dead letter test secret';
const TOKEN = 'dead-letter-api-token';
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const noProfiles: ProfileOperations = {
  listProfiles: () => [],
  getProfile: () => undefined,
  approve: async () => ({ ok: false, error: 'not-found' }),
  removeItem: async () => ({ ok: false, error: 'not-found' }),
  relearn: async () => ({ ok: false, error: 'not-found' }),
  lock: async () => ({ ok: false, error: 'not-found' }),
};

/** The real pipeline with a webhook sink to `r`, and the real API in front of it. */
async function collector(r: HttpsReceiver, dataDir: string) {
  const problems = new Problems();
  const sinkConfig = parseWebhookSinkConfig(
    { id: 'soc', type: 'webhook', url: r.url, hmacSecret: SECRET, tls: { caFile: r.caFile } },
    'sinks[0]',
    problems,
  );
  const config = parseIncidentPipelineConfig(
    { outbox: { fsyncInterval: '2ms' }, delivery: { backoffInitial: '20ms', backoffMax: '100ms', maxAttempts: 3 } },
    problems,
  );
  problems.throwIfAny();
  const registry = new Registry();
  const log = silentLogger();
  const p: IncidentPipeline = createIncidentPipeline({
    log,
    registry,
    dataDir,
    config,
    sinks: [createWebhookSink(sinkConfig, { log, registry })],
  });
  p.start();
  cleanup.push(() => p.stop());
  const api = createApiServer({
    log,
    registry,
    profiles: noProfiles,
    incidents: p,
    health: () => [],
    token: TOKEN,
    host: '127.0.0.1',
    port: 0,
  });
  const { port } = await api.start();
  cleanup.push(() => api.stop());
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return res.json();
  };
  return { p, registry, call, target: { url: `http://127.0.0.1:${port}`, token: TOKEN } };
}

async function setup() {
  const r = await startHttpsReceiver({ secret: SECRET });
  cleanup.push(() => r.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'tripline-dead-letter-'));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return { r, dataDir, deadLetterPath: join(dataDir, 'incidents', 'dead-letter.jsonl') };
}

/** Lines of a dead-letter generation ('' when it does not exist). */
function lines(path: string): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return text.split('\n').filter((l) => l !== '');
}

describe('re-sending dead letters through the API', () => {
  it('a permanently refused incident is dead-lettered, then after the fix re-sent exactly once', async () => {
    const { r, dataDir, deadLetterPath } = await setup();
    let fixed = false;
    r.respond = () => (fixed ? { status: 200 } : { status: 400 });
    const { p, registry, call } = await collector(r, dataDir);

    for (const key of ['/bin/sh', '/usr/bin/curl', '/tmp/x']) p.submit(finding({ key }));
    await waitFor(() => lines(deadLetterPath).length === 3, { what: 'three dead letters' });
    expect(r.accepted.size).toBe(0);
    const deadKeys = lines(deadLetterPath)
      .map((l) => (JSON.parse(l) as { incident: { idempotencyKey: string } }).incident.idempotencyKey)
      .sort();

    const listing = (await call('GET', '/api/v1/dead-letters?sink=soc')) as DeadLetterListing;
    expect(listing.total).toBe(3);
    expect(listing.malformed).toEqual([]);
    expect(listing.entries[0]).toMatchObject({
      file: 'dead-letter.jsonl',
      line: 1,
      sink: 'soc',
      attempts: 1,
      error: expect.stringContaining('400'),
      incident: {
        revision: 1,
        rule: 'unexpected-exec',
        severity: 'high',
        workload: 'test/default/Deployment/web/main',
      },
    });
    expect(((await call('GET', '/api/v1/dead-letters?sink=elsewhere')) as DeadLetterListing).entries).toEqual([]);

    fixed = true;
    const report = await call('POST', '/api/v1/dead-letters/resend', {});
    expect(report).toEqual({ requeued: 3, skippedUnknownSink: 0, skippedNotRouted: 0, deferred: 0, malformed: [] });
    // Removed from the file only after the outbox holds them durably: the file is empty now.
    expect(readFileSync(deadLetterPath, 'utf8')).toBe('');
    await waitFor(() => r.accepted.size === 3, { what: 'the re-sent incidents' });
    expect([...r.accepted.keys()].sort()).toEqual(deadKeys);
    await waitFor(() => p.health()[0]!.depth === 0 && p.health()[0]!.sent === 3);

    const again = await call('POST', '/api/v1/dead-letters/resend', {});
    expect(again).toMatchObject({ requeued: 0, malformed: [] });
    expect(p.health()[0]!.depth).toBe(0);
    // A later incident arrives after anything queued before it, so once it is here a
    // second copy of a re-sent incident would have arrived too.
    p.submit(finding({ key: '/bin/marker' }));
    await waitFor(() => r.accepted.size === 4, { what: 'the marker incident' });
    expect(r.duplicates).toEqual([]);
    const delivered = r.requests.filter((q) => q.status === 200).flatMap((q) => q.incidents);
    expect(delivered.map((i) => i.idempotencyKey).filter((k) => deadKeys.includes(k as string))).toHaveLength(3);
    expect(await registry.metrics()).toContain('tripline_collector_dead_letters_resent_total{sink="soc"} 3');
    expect(((await call('GET', '/api/v1/dead-letters')) as DeadLetterListing).entries).toEqual([]);

    // The file was replaced under the sinks' writer: a new dead letter lands in the new file.
    fixed = false;
    p.submit(finding({ key: '/bin/after' }));
    await waitFor(() => lines(deadLetterPath).length === 1, { what: 'a dead letter in the replaced file' });
    expect(JSON.parse(lines(deadLetterPath)[0]!)).toMatchObject({ sink: 'soc', incident: { key: '/bin/after' } });
  });

  it('re-sends both generations, and leaves unknown-sink entries and malformed lines untouched', async () => {
    const { r, dataDir, deadLetterPath } = await setup();
    const line = (sink: string, incident: ReturnType<typeof execIncident>): string =>
      JSON.stringify({
        time: '2026-11-26T00:00:00.000Z',
        sink,
        error: 'HTTP 400',
        attempts: 1,
        incident: incidentJson(incident),
      });
    const rotated = line('soc', fileIncident());
    const gone = line('retired-siem', connectIncident());
    const malformed =
      '{"time":"2026-11-26T00:00:01.000Z","sink":"soc","error":"HTTP 400","attempts":1,"incident":{"sch';
    const current = line('soc', execIncident({ revision: 2 }));
    mkdirSync(join(dataDir, 'incidents'), { recursive: true });
    writeFileSync(`${deadLetterPath}.1`, `${rotated}\n`);
    writeFileSync(deadLetterPath, `${gone}\n${malformed}\n${current}\n`);
    const { call } = await collector(r, dataDir);

    const listing = (await call('GET', '/api/v1/dead-letters')) as DeadLetterListing;
    expect(listing.entries.map((e) => `${e.file}:${e.line}`)).toEqual([
      'dead-letter.jsonl.1:1',
      'dead-letter.jsonl:1',
      'dead-letter.jsonl:3',
    ]);
    expect(listing.malformed).toEqual([
      { file: 'dead-letter.jsonl', line: 2, reason: expect.stringMatching(/^not JSON: /) },
    ]);

    const report = (await call('POST', '/api/v1/dead-letters/resend', { sink: 'soc' })) as ResendReport;
    expect(report).toMatchObject({ requeued: 2, skippedUnknownSink: 0, deferred: 0 });
    expect(report.malformed).toEqual([{ file: 'dead-letter.jsonl', line: 2, reason: expect.any(String) }]);
    expect(lines(`${deadLetterPath}.1`)).toEqual([]);
    expect(lines(deadLetterPath)).toEqual([gone, malformed]);
    await waitFor(() => r.accepted.size === 2, { what: 'both re-sent incidents' });
    expect([...r.accepted.keys()].sort()).toEqual([`${execIncident().id}:2`, `${fileIncident().id}:1`].sort());

    // Without a sink filter the retired sink's entry is counted and still left alone.
    const all = await call('POST', '/api/v1/dead-letters/resend');
    expect(all).toMatchObject({ requeued: 0, skippedUnknownSink: 1 });
    expect(lines(deadLetterPath)).toEqual([gone, malformed]);
  });

  it('tripline incidents dead-letters and resend [--sink] drive the same operations', async () => {
    const { r, dataDir, deadLetterPath } = await setup();
    let fixed = false;
    r.respond = () => (fixed ? { status: 200 } : { status: 400 });
    const { p, target } = await collector(r, dataDir);
    p.submit(finding({ key: '/bin/nc' }));
    await waitFor(() => lines(deadLetterPath).length === 1, { what: 'a dead letter' });
    const out: string[] = [];
    await incidentsCommand(target, ['dead-letters'], { sink: 'soc' }, (s) => out.push(s));
    expect(out).toEqual([
      expect.stringMatching(
        /Z {2}soc {2}[0-9a-f]+:1 {2}HIGH {5}unexpected-exec .* test\/default\/Deployment\/web\/main {2}1 attempt\(s\): .*400/,
      ),
    ]);

    fixed = true;
    out.length = 0;
    await incidentsCommand(target, ['resend'], { sink: 'elsewhere' }, (s) => out.push(s));
    expect(out).toEqual(['re-queued 0 dead-lettered incident(s) for delivery']);
    expect(lines(deadLetterPath)).toHaveLength(1);
    out.length = 0;
    await incidentsCommand(target, ['resend'], { sink: 'soc' }, (s) => out.push(s));
    expect(out).toEqual(['re-queued 1 dead-lettered incident(s) for delivery']);
    await waitFor(() => r.accepted.size === 1, { what: 'the re-sent incident' });
    expect(lines(deadLetterPath)).toEqual([]);
  });
});
