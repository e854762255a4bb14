import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelCredentials, status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchOf, connectAgent, startIngest, type AgentStream, type RunningIngest } from './ingest-harness.js';

let dir: string;
const file = (name: string): string => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by it. */
function makePki(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=tripline-test-ca');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'server.ext',
  );
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=agent-node-a');
  openssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.crt',
    '-days',
    '1',
    '-extfile',
    'client.ext',
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tripline-ingest-tls-'));
  makePki();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tlsIngest(tls: Record<string, unknown>): Promise<RunningIngest> {
  const run = await startIngest({ tls: { certFile: file('server.crt'), keyFile: file('server.key'), ...tls } });
  cleanups.push(() => run.server.stop(0));
  return run;
}

function agent(port: number, credentials: ChannelCredentials): AgentStream {
  const a = connectAgent(port, { credentials });
  cleanups.push(() => a.close());
  return a;
}

const ca = (): Buffer => readFileSync(file('ca.crt'));

describe('ingest over TLS', () => {
  it('accepts an agent that trusts the CA and refuses ones that do not or speak plaintext', async () => {
    const run = await tlsIngest({});
    const trusted = agent(run.port, ChannelCredentials.createSsl(ca()));
    trusted.send(batchOf(1, 2));
    expect((await trusted.acked(1))[0]).toMatchObject({ batchId: 1, accepted: 2 });

    // Without the CA the self-signed chain does not verify against the system roots.
    const untrusting = agent(run.port, ChannelCredentials.createSsl());
    untrusting.send(batchOf(1, 1));
    const refused = await untrusting.status;
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect(refused.details).toMatch(/unable to verify the first certificate/);
    expect(untrusting.acks).toEqual([]);

    const plaintext = agent(run.port, ChannelCredentials.createInsecure());
    plaintext.send(batchOf(1, 1));
    expect((await plaintext.status).code).toBe(status.UNAVAILABLE);
    expect(run.intake.applied).toHaveLength(1);
  });

  it('requires a client certificate signed by the client CA when configured', async () => {
    const run = await tlsIngest({ clientCaFile: file('ca.crt'), requireClientCert: true });
    const withCert = agent(
      run.port,
      ChannelCredentials.createSsl(ca(), readFileSync(file('client.key')), readFileSync(file('client.crt'))),
    );
    withCert.send(batchOf(1, 1));
    expect((await withCert.acked(1))[0]!.accepted).toBe(1);

    const withoutCert = agent(run.port, ChannelCredentials.createSsl(ca()));
    withoutCert.send(batchOf(1, 1));
    const noCert = await withoutCert.status;
    expect(noCert.details).toMatch(/certificate required/);
    expect(noCert.code).toBe(status.UNAVAILABLE);
    expect(withoutCert.acks).toEqual([]);
    expect(run.intake.applied).toHaveLength(1);
  });

  it('refuses to start naming every TLS file it cannot read', async () => {
    await expect(startIngest({ tls: { certFile: file('missing.crt'), keyFile: file('missing.key') } })).rejects.toThrow(
      /tls\.certFile .*missing\.crt: ENOENT[\s\S]*tls\.keyFile .*missing\.key: ENOENT/,
    );
  });
});
