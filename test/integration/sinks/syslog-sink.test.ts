import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { createSyslogSink, parseSyslogSinkConfig } from '../../../collector/sinks/syslog/syslog-sink.js';
import type { Sink } from '../../../collector/sinks/sink.js';
import { startRsyslog, type RsyslogServer } from '../../helpers/rsyslog.js';
import { connectIncident, execIncident, fileIncident } from './incident-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sinkFor(raw: Record<string, unknown>): { sink: Sink; registry: Registry } {
  const problems = new Problems();
  const config = parseSyslogSinkConfig(
    { id: 'siem', type: 'syslog', host: '127.0.0.1', hostname: 'collector-0', ...raw },
    'sinks[0]',
    problems,
  );
  expect(problems.all).toEqual([]);
  const registry = new Registry();
  const sink = createSyslogSink(config, { log: silentLogger(), registry });
  cleanups.push(() => sink.close());
  return { sink, registry };
}

async function rsyslog(opts: Parameters<typeof startRsyslog>[0] = {}): Promise<RsyslogServer> {
  const server = await startRsyslog(opts);
  cleanups.push(() => server.stop());
  return server;
}

describe('syslog sink into a real rsyslogd', () => {
  it('delivers RFC 5424 messages over TCP with octet counting, structured data parsed by rsyslog', async () => {
    const server = await rsyslog();
    const { sink } = sinkFor({ port: server.port, transport: 'tcp' });
    // The summary carries characters that need escaping inside SD values and a multi-line text.
    const tricky = fileIncident({ key: '/etc/a"b]c\\d', summary: 'Write to "protected" path\nsecond line' });
    const result = await sink.send([execIncident(), tricky], AbortSignal.timeout(10_000));
    expect(result).toEqual({ status: 'success' });

    const [exec, file] = await server.waitForRecords(2);
    expect(exec).toMatchObject({
      hostname: 'collector-0',
      appname: 'tripline',
      procid: String(process.pid),
      msgid: 'unexpected-exec',
      severity: 3, // high → err
      facility: 16, // local0
      timestamp: new Date(execIncident().lastSeenMs).toISOString(),
      msg: 'Unexpected executable /bin/sh in payments/checkout (api)',
    });
    expect(exec!.params['tripline@32473']).toEqual({
      incidentId: 'inc-unexpected-exec-0001',
      revision: '1',
      idempotencyKey: 'inc-unexpected-exec-0001:1',
      rule: 'unexpected-exec',
      severity: 'high',
      score: '78',
      workload: 'prod-eu/payments/Deployment/checkout/api',
      namespace: 'payments',
      key: '/bin/sh',
      count: '3',
      mitre: 'T1059',
    });
    expect(file!.severity).toBe(2); // critical → crit
    expect(file!.params['tripline@32473']!.key).toBe('/etc/a"b]c\\d');
    expect(file!.msg).toBe('Write to "protected" path second line');
  });

  it('delivers CEF lines over TLS (RFC 5425) verified against the receiver certificate', async () => {
    const server = await rsyslog({ tls: true });
    const { sink } = sinkFor({
      port: server.port,
      transport: 'tls',
      format: 'cef',
      facility: 'authpriv',
      tls: { caFile: server.caFile },
    });
    const result = await sink.send([connectIncident({ summary: 'egress | to=x' })], AbortSignal.timeout(10_000));
    expect(result).toEqual({ status: 'success' });

    const [rec] = await server.waitForRecords(1);
    expect(rec).toMatchObject({
      hostname: 'collector-0',
      appname: 'tripline',
      msgid: 'unexpected-egress',
      facility: 10,
      severity: 4,
      sd: '-',
    });
    expect(rec!.msg).toMatch(/^CEF:0\|Tripline\|Tripline\|[^|]+\|unexpected-egress\|egress \\\| to=x\|5\|/);
    const ext = rec!.msg.split('|').slice(7).join('|');
    expect(ext).toContain('dst=203.0.113.9 dpt=4444 proto=TCP');
    expect(ext).toContain('msg=egress | to\\=x');
    expect(ext).toContain('cs1Label=workload cs1=prod-eu/payments/Deployment/checkout/api');
    expect(ext).toContain('externalId=inc-unexpected-egress-0001:1');
  });

  it('fails TLS verification against an untrusted certificate without throwing', async () => {
    const server = await rsyslog({ tls: true });
    const { sink } = sinkFor({ port: server.port, transport: 'tls' });
    const result = await sink.send([execIncident()], AbortSignal.timeout(10_000));
    expect(result).toMatchObject({ status: 'failure', error: expect.stringMatching(/SELF_SIGNED|CERT/) });
    expect(server.records()).toEqual([]);
  });

  it('reports a receiver that is down as retryable, then reconnects once it is back', async () => {
    const first = await startRsyslog();
    // The directory outlives the first server; remove it even if the restart fails.
    cleanups.push(async () => {
      await first.stop();
    });
    const port = first.port;
    const { sink, registry } = sinkFor({ port, transport: 'tcp' });
    expect((await sink.send([execIncident()], AbortSignal.timeout(10_000))).status).toBe('success');
    await first.waitForRecords(1);
    await first.stop({ keepDir: true });

    // The persistent connection was closed by the receiver; nothing listens now.
    const down = await sink.send([execIncident({ revision: 2 })], AbortSignal.timeout(10_000));
    expect(down.status).toBe('retryable');

    const second = await rsyslog({ port, dir: first.dir });
    const again = await sink.send([execIncident({ revision: 3 })], AbortSignal.timeout(10_000));
    expect(again).toEqual({ status: 'success' });
    const recs = await second.waitForRecords(2);
    expect(recs.map((r) => r.params['tripline@32473']!.revision)).toEqual(['1', '3']);
    const metrics = await registry.getSingleMetricAsString('tripline_collector_syslog_connections_total');
    expect(metrics).toMatch(/event="connected"[^\n]* 2/);
  });

  it('sends one unframed RFC 5424 datagram per incident over UDP', async () => {
    const server = await rsyslog({ udp: true });
    const { sink } = sinkFor({ port: server.udpPort, transport: 'udp', format: 'cef' });
    expect(await sink.send([execIncident(), connectIncident()], AbortSignal.timeout(5000))).toEqual({
      status: 'success',
    });
    const recs = await server.waitForRecords(2);
    expect(recs.map((r) => r.msgid).sort()).toEqual(['unexpected-egress', 'unexpected-exec']);
    // No octet count leaked into the message: CEF starts the MSG part.
    for (const r of recs) expect(r.msg).toMatch(/^CEF:0\|Tripline\|/);
  });
});
