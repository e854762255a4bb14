import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import {
  createAlertmanagerSink,
  parseAlertmanagerSinkConfig,
} from '../../../collector/sinks/alertmanager/alertmanager-sink.js';
import type { Sink } from '../../../collector/sinks/sink.js';
import { startAlertmanager } from '../../helpers/alertmanager.js';
import { waitFor } from '../../helpers/wait.js';
import { execIncident, fileIncident } from './incident-fixture.js';

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The receiving end of Alertmanager's webhook: what a pager integration would get. */
async function webhookReceiver(): Promise<{ url: string; notifications: { alerts: WebhookAlert[] }[] }> {
  const notifications: { alerts: WebhookAlert[] }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notifications.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: WebhookAlert[] });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, notifications };
}

function sinkFor(raw: Record<string, unknown>): Sink {
  const problems = new Problems();
  const config = parseAlertmanagerSinkConfig({ id: 'am', type: 'alertmanager', ...raw }, 'sinks[0]', problems);
  expect(problems.all).toEqual([]);
  const sink = createAlertmanagerSink(config, { log: silentLogger(), registry: new Registry() });
  cleanups.push(() => sink.close());
  return sink;
}

describe('Alertmanager sink into a real Alertmanager', () => {
  it('raises alerts that Alertmanager routes to its webhook receiver with the incident labels', async () => {
    const hook = await webhookReceiver();
    const am = await startAlertmanager({ webhookUrl: hook.url });
    cleanups.push(() => am.stop());
    const sink = sinkFor({
      urls: [am.url],
      generatorUrl: 'https://tripline.example/incidents/{id}',
      extraLabels: { team: 'platform-security' },
    });

    const before = Date.now();
    const result = await sink.send([execIncident(), fileIncident()], AbortSignal.timeout(10_000));
    expect(result).toEqual({ status: 'success' });

    const alerts = await waitFor(
      () => {
        const all = hook.notifications.flatMap((n) => n.alerts);
        return all.length >= 2 ? all : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'alerts at the webhook receiver' },
    );
    const exec = alerts.find((a) => a.labels.rule === 'unexpected-exec');
    expect(exec).toMatchObject({
      status: 'firing',
      labels: {
        alertname: 'TriplineIncident',
        rule: 'unexpected-exec',
        severity: 'high',
        namespace: 'payments',
        workload: 'checkout',
        workload_kind: 'Deployment',
        container: 'api',
        cluster: 'prod-eu',
        incident_id: 'inc-unexpected-exec-0001',
        team: 'platform-security',
      },
      annotations: {
        summary: 'Unexpected executable /bin/sh in payments/checkout (api)',
        mitre: 'T1059, execution',
        count: '3',
      },
      generatorURL: 'https://tripline.example/incidents/inc-unexpected-exec-0001',
    });
    expect(Date.parse(exec!.startsAt)).toBe(execIncident().firstSeenMs);
    // The webhook payload blanks endsAt of firing alerts; the API shows what was stored:
    // firing for an hour from the send, unless re-sent or silenced.
    const held = (await am.alerts()).find((a) => a.labels.rule === 'unexpected-exec');
    expect(Date.parse(held!.endsAt)).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(alerts.find((a) => a.labels.rule === 'protected-path-write')?.labels.severity).toBe('critical');
  });

  it('updates the same alert on re-send (labels exclude revision and count)', async () => {
    const hook = await webhookReceiver();
    const am = await startAlertmanager({ webhookUrl: hook.url });
    cleanups.push(() => am.stop());
    const sink = sinkFor({ url: am.url, endsAfter: '2h' });
    expect(await sink.send([execIncident()], AbortSignal.timeout(10_000))).toEqual({ status: 'success' });
    expect(await sink.send([execIncident({ revision: 2, count: 9 })], AbortSignal.timeout(10_000))).toEqual({
      status: 'success',
    });
    const held = await am.alerts();
    expect(held).toHaveLength(1);
    expect(held[0]!.annotations.count).toBe('9');
    expect(held[0]!.status.state).toBe('active');
  });

  it('is retryable when no Alertmanager is reachable, and succeeds when one of two is', async () => {
    const hook = await webhookReceiver();
    const am = await startAlertmanager({ webhookUrl: hook.url });
    cleanups.push(() => am.stop());
    const down = 'http://127.0.0.1:1';
    expect(await sinkFor({ urls: [down] }).send([execIncident()], AbortSignal.timeout(10_000))).toMatchObject({
      status: 'retryable',
    });
    expect(await sinkFor({ urls: [down, am.url] }).send([execIncident()], AbortSignal.timeout(10_000))).toEqual({
      status: 'success',
    });
    expect(await am.alerts()).toHaveLength(1);
  });

  it('treats an alert Alertmanager refuses (400) as a failure', async () => {
    const hook = await webhookReceiver();
    const am = await startAlertmanager({ webhookUrl: hook.url });
    cleanups.push(() => am.stop());
    // A startsAt after endsAt is invalid to Alertmanager's API.
    const future = Date.now() + 10 * 3_600_000;
    const result = await sinkFor({ url: am.url }).send(
      [execIncident({ firstSeenMs: future, lastSeenMs: future })],
      AbortSignal.timeout(10_000),
    );
    expect(result).toMatchObject({ status: 'failure', error: expect.stringContaining('HTTP 400') });
  });
});
