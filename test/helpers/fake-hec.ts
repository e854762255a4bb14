/**
 * A fake Splunk HTTP Event Collector on loopback (Splunk cannot run here). It checks what
 * HEC checks — the event endpoint, `Authorization: Splunk <token>`, a body of concatenated
 * JSON event objects each with a non-blank `event` — and answers the way HEC documents:
 * {"text","code"} with code 0 on success, 2/3/4 for auth problems, 5 no data, 6 invalid
 * data format with "invalid-event-number", 12/13 for a missing or blank event. Tests can
 * queue other answers (e.g. code 9 "Server is busy").
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface HecRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly events: Record<string, unknown>[];
}

export interface QueuedReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface FakeHec {
  readonly url: string;
  /** Requests the receiver accepted (answered code 0). */
  readonly accepted: HecRequest[];
  /** Every request, accepted or not. */
  readonly requests: HecRequest[];
  /** The next request gets this reply instead of being checked. */
  queueReply(reply: QueuedReply): void;
  close(): Promise<void>;
}

/** `tls` serves HTTPS with this key and certificate (PEM). */
export async function startFakeHec(
  token: string,
  opts: { tls?: { key: Buffer; cert: Buffer } } = {},
): Promise<FakeHec> {
  const accepted: HecRequest[] = [];
  const requests: HecRequest[] = [];
  const queued: QueuedReply[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const text = Buffer.concat(chunks).toString('utf8');
      const parsed = splitConcatenatedJson(text);
      const request: HecRequest = { path: req.url ?? '', headers: req.headers, events: parsed.objects };
      requests.push(request);
      const next = queued.shift();
      if (next) return reply(next.status, next.body, next.headers);
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/services/collector/event') {
        return reply(404, { text: 'The requested URL was not found on this server.', code: 404 });
      }
      const auth = req.headers.authorization;
      if (auth === undefined) return reply(401, { text: 'Token is required', code: 2 });
      if (!auth.startsWith('Splunk ')) return reply(401, { text: 'Invalid authorization', code: 3 });
      if (auth.slice('Splunk '.length) !== token) return reply(403, { text: 'Invalid token', code: 4 });
      if (text.trim() === '') return reply(400, { text: 'No data', code: 5 });
      if (parsed.invalidAt !== undefined) {
        return reply(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': parsed.invalidAt });
      }
      for (const [n, e] of parsed.objects.entries()) {
        if (!('event' in e))
          return reply(400, { text: 'Event field is required', code: 12, 'invalid-event-number': n });
        if (e.event === '' || e.event === null) {
          return reply(400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': n });
        }
        if (e.time !== undefined && typeof e.time !== 'number' && !/^\d+(\.\d+)?$/.test(String(e.time))) {
          return reply(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': n });
        }
      }
      accepted.push(request);
      reply(200, { text: 'Success', code: 0 });
    });
  };
  const server: Server = opts.tls ? createHttpsServer(opts.tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    accepted,
    requests,
    queueReply: (r) => queued.push(r),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Splits `a{…}{…}` style bodies into objects; `invalidAt` is the index of the first bad one. */
function splitConcatenatedJson(text: string): { objects: Record<string, unknown>[]; invalidAt?: number } {
  const objects: Record<string, unknown>[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) {
        try {
          objects.push(JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>);
        } catch {
          return { objects, invalidAt: objects.length };
        }
      }
    } else if (depth === 0 && !/\s/.test(c ?? '')) {
      return { objects, invalidAt: objects.length };
    }
  }
  return depth === 0 ? { objects } : { objects, invalidAt: objects.length };
}
