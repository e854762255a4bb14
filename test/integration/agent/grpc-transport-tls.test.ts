import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { unresolvedContainer } from '../../../proto/events.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { createAgentMetrics } from '../../../agent/metrics.js';
import { createGrpcTransport } from '../../../agent/transport/grpc-transport.js';
import { outgoing } from '../../helpers/outgoing.js';
import { startIngestServer, type TestIngestServer } from '../../helpers/ingest-server.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'tripline-tls-'));
const f = (name: string): string => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makePki(prefix: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f(`${prefix}ca.key`),
    '-out',
    f(`${prefix}ca.pem`),
    '-days',
    '1',
    '-subj',
    `/CN=${prefix}tripline-test-ca`,
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(f(`${prefix}${name}.ext`), ext);
    openssl(
      'req',
      ...ec,
      '-keyout',
      f(`${prefix}${name}.key`),
      '-out',
      f(`${prefix}${name}.csr`),
      '-subj',
      `/CN=${name}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${prefix}${name}.csr`),
      '-CA',
      f(`${prefix}ca.pem`),
      '-CAkey',
      f(`${prefix}ca.key`),
      '-CAcreateserial',
      '-out',
      f(`${prefix}${name}.pem`),
      '-days',
      '1',
      '-extfile',
      f(`${prefix}${name}.ext`),
    );
  }
}

let server: TestIngestServer;
beforeAll(async () => {
  makePki('');
  makePki('other-');
  const creds = grpc.ServerCredentials.createSsl(
    readFileSync(f('ca.pem')),
    [{ cert_chain: readFileSync(f('server.pem')), private_key: readFileSync(f('server.key')) }],
    true, // mutual TLS: the agent must present a certificate from the CA
  );
  server = await startIngestServer({ credentials: creds });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function transportWith(tls: { caFile: string; certFile?: string; keyFile?: string }) {
  const d = parseAgentConfig({}, new Problems());
  const registry = new Registry();
  const t = createGrpcTransport({
    collector: {
      ...d.collector,
      address: server.address,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
      tls: { certFile: undefined, keyFile: undefined, serverName: undefined, ...tls },
    },
    spool: { ...d.spool, dir: '' },
    agentRunId: 'tls-run',
    metrics: createAgentMetrics(registry),
    log: silentLogger(),
  });
  return { t, registry };
}

const envelope = (seq: number) =>
  outgoing({
    kind: 'exec',
    timeNs: 1,
    node: 'n',
    seq,
    container: unresolvedContainer(1),
    process: { pid: 1, ppid: 0, uid: 0, exe: '/bin/true', comm: 'true', argv: [] },
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  });

describe('gRPC transport over TLS (real handshake on loopback)', () => {
  it('delivers over mutual TLS with the configured CA and client certificate', async () => {
    const { t } = transportWith({ caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client.key') });
    await t.start();
    try {
      t.send({ node: 'n1', envelopes: [envelope(7001)] });
      await waitFor(() => server.events().some((e) => e.seq === 7001), { what: 'the event over TLS' });
    } finally {
      await t.stop(1000);
    }
  });

  it('does not deliver to a collector whose certificate another CA signed', async () => {
    const { t, registry } = transportWith({
      caFile: f('other-ca.pem'),
      certFile: f('client.pem'),
      keyFile: f('client.key'),
    });
    await t.start();
    try {
      t.send({ node: 'n1', envelopes: [envelope(7002)] });
      await waitFor(async () =>
        (await registry.getSingleMetricAsString('tripline_agent_transport_errors_total')).includes(
          'reason="unavailable"',
        ),
      );
      expect(server.events().some((e) => e.seq === 7002)).toBe(false);
    } finally {
      await t.stop(100);
    }
  });

  it('names every unreadable TLS file at start', async () => {
    const { t } = transportWith({ caFile: f('missing-ca.pem'), certFile: f('missing.pem'), keyFile: f('client.key') });
    await expect(t.start()).rejects.toThrow(/caFile .*missing-ca\.pem[\s\S]*certFile .*missing\.pem/);
  });
});
