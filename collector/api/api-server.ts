/**
 * The collector's HTTP API: health, Prometheus metrics, profiles and incidents. Every
 * /api/ route needs the bearer token; /healthz, /readyz and /metrics do not (they reveal
 * no workload data and are scraped by probes and Prometheus).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { ComponentHealth, IncidentQueries, ProfileOperations } from './api-operations.js';
import { HttpError, sendJson, sendText } from './http-json.js';
import { routeApi } from './api-routes.js';

export interface ApiServerOptions {
  readonly log: Logger;
  readonly registry: Registry;
  readonly profiles: ProfileOperations;
  readonly incidents: IncidentQueries;
  readonly health: () => readonly ComponentHealth[];
  /** Bearer token every /api/ request must carry. */
  readonly token: string;
  readonly host: string;
  readonly port: number;
}

export interface ApiServer {
  /** Listens; resolves with the bound port (0 in options picks a free one). */
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const log = opts.log.child({ component: 'api' });
  const requests = new Counter({
    name: 'tripline_collector_api_requests_total',
    help: 'HTTP API requests by route group and status class.',
    labelNames: ['route', 'status'] as const,
    registers: [opts.registry],
  });
  // Hashing both sides gives equal-length buffers, so the comparison is constant-time.
  const expected = sha256(opts.token);
  const authorised = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    return m !== null && timingSafeEqual(sha256(m[1]!), expected);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const url = new URL(req.url ?? '/', 'http://api');
    const path = url.pathname;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return 'health';
    }
    if (path === '/readyz') {
      const components = opts.health();
      const ok = components.every((c) => c.ok);
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', components });
      return 'health';
    }
    if (path === '/metrics') {
      sendText(res, 200, opts.registry.contentType, await opts.registry.metrics());
      return 'metrics';
    }
    if (!path.startsWith('/api/v1/')) throw new HttpError(404, `no route for ${path}`);
    if (!authorised(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="tripline"');
      throw new HttpError(401, 'missing or invalid bearer token');
    }
    await routeApi(req, res, url, opts);
    return path.split('/')[3] ?? 'api';
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).then(
      (route) => requests.inc({ route, status: `${String(res.statusCode)[0]}xx` }),
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) log.error({ err, method: req.method, url: req.url }, 'API request failed');
        if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
        else res.end();
        requests.inc({ route: 'error', status: `${String(status)[0]}xx` });
      },
    );
  });

  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          const port = (server.address() as AddressInfo).port;
          log.info({ host: opts.host, port }, 'API listening');
          resolve({ port });
        });
      }),
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
