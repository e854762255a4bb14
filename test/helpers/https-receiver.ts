/**
 * A real HTTPS webhook receiver on loopback for sink tests: a CA, server and client
 * certificate made with openssl in a temp dir, optional mutual TLS, signature
 * verification as docs/webhook.md describes, and de-duplication on the idempotency key
 * the way a careful receiver does it. Tests choose the answer per request.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyWebhook } from '../../collector/sinks/webhook/webhook-signature.js';

export interface ReceivedRequest {
  readonly at: number;
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly incidents: Array<Record<string, unknown>>;
  readonly verified: boolean;
}

/** What the receiver answers; called for every request whose signature verified. */
export type Responder = (req: ReceivedRequest) => { status: number; headers?: Record<string, string> };

export interface HttpsReceiver {
  readonly url: string;
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** Incidents accepted (2xx), first delivery per idempotency key. */
  readonly accepted: Map<string, Record<string, unknown>>;
  /** Accepted deliveries of a key already accepted. */
  readonly duplicates: string[];
  readonly requests: ReceivedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export interface HttpsReceiverOptions {
  /** Verify X-Tripline-Signature with this secret; requests that fail get 401. */
  readonly secret?: string;
  /** Demand a client certificate signed by the test CA. */
  readonly requireClientCert?: boolean;
}

/** CA, server (SAN 127.0.0.1, localhost) and client certificates in a new temp dir. */
export function makeTestPki(): {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-pki-'));
  const p = (f: string): string => join(dir, f);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=tripline test CA',
  );
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    ssl('req', ...ec, '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', `/CN=tripline test ${who}`);
    ssl(
      'x509',
      '-req',
      '-in',
      p(`${who}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${who}.crt`),
      '-days',
      '2',
      '-extfile',
      p(`${who}.ext`),
    );
  }
  return {
    dir,
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
}

export async function startHttpsReceiver(opts: HttpsReceiverOptions = {}): Promise<HttpsReceiver> {
  const pki = makeTestPki();
  const accepted = new Map<string, Record<string, unknown>>();
  const duplicates: string[] = [];
  const requests: ReceivedRequest[] = [];
  const server = https.createServer({
    key: readFileSync(pki.serverKey),
    cert: readFileSync(pki.serverCert),
    ca: readFileSync(pki.ca),
    requestCert: opts.requireClientCert ?? false,
    rejectUnauthorized: opts.requireClientCert ?? false,
  });
  const receiver: HttpsReceiver = {
    url: '',
    caFile: pki.ca,
    clientCertFile: pki.clientCert,
    clientKeyFile: pki.clientKey,
    accepted,
    duplicates,
    requests,
    respond: () => ({ status: 200 }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(pki.dir, { recursive: true, force: true });
    },
  };
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const verified =
        opts.secret === undefined ||
        verifyWebhook(
          opts.secret,
          {
            timestamp: req.headers['x-tripline-timestamp'] as string,
            signature: req.headers['x-tripline-signature'] as string,
          },
          body,
        ).ok;
      let incidents: Array<Record<string, unknown>> = [];
      try {
        const parsed = JSON.parse(body.toString('utf8')) as unknown;
        incidents = (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, unknown>>;
      } catch {
        incidents = [];
      }
      const seen: ReceivedRequest = { at: Date.now(), status: 0, headers: req.headers, incidents, verified };
      const answer = verified ? receiver.respond(seen) : { status: 401 };
      requests.push({ ...seen, status: answer.status });
      if (answer.status >= 200 && answer.status < 300) {
        for (const i of incidents) {
          const key = String(i.idempotencyKey);
          if (accepted.has(key)) duplicates.push(key);
          else accepted.set(key, i);
        }
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.status < 300 ? '{"ok":true}' : '{"error":"not now"}');
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    rmSync(pki.dir, { recursive: true, force: true });
    throw err;
  }
  (receiver as { url: string }).url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tripline`;
  return receiver;
}
