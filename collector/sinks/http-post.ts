/**
 * One HTTP POST for the HTTP-speaking sinks (Splunk HEC, Elasticsearch, Alertmanager): a
 * keep-alive agent with the configured CA and client certificate, a deadline per
 * attempt, and the mapping of transport errors and status codes onto Results, so every
 * sink answers "retry or give up" the same way.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Problems } from '../../lib/config-problems.js';
import { failure, retryable, type Result } from '../../lib/result.js';

/** TLS settings of a sink's client side (HTTPS, syslog over TLS, Kafka). */
export interface TlsClientConfig {
  /** PEM bundle of CAs to trust instead of the system store. */
  readonly caFile: string | undefined;
  /** PEM client certificate, for receivers that require mutual TLS. */
  readonly certFile: string | undefined;
  /** PEM key of `certFile`. */
  readonly keyFile: string | undefined;
  /** Name to verify the server certificate against, when it differs from the host. */
  readonly serverName: string | undefined;
  /** Skips server certificate verification; for lab setups only. */
  readonly insecureSkipVerify: boolean;
}

/** Reads an optional `tls` object at `path`; undefined when absent. */
export function parseTlsClientConfig(raw: unknown, path: string, problems: Problems): TlsClientConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.add(path, 'must be an object');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const file = (key: string): string | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') problems.add(`${path}.${key}`, 'must be a file path');
    return typeof v === 'string' ? v : undefined;
  };
  const cfg: TlsClientConfig = {
    caFile: file('caFile'),
    certFile: file('certFile'),
    keyFile: file('keyFile'),
    serverName: typeof r.serverName === 'string' ? r.serverName : undefined,
    insecureSkipVerify: r.insecureSkipVerify === true,
  };
  if (r.serverName !== undefined && typeof r.serverName !== 'string')
    problems.add(`${path}.serverName`, 'must be a host name');
  if (r.insecureSkipVerify !== undefined && typeof r.insecureSkipVerify !== 'boolean') {
    problems.add(`${path}.insecureSkipVerify`, 'must be true or false');
  }
  if ((cfg.certFile === undefined) !== (cfg.keyFile === undefined)) {
    problems.add(path, 'certFile and keyFile go together');
  }
  return Object.freeze(cfg);
}

/**
 * Node TLS options for `cfg`, reading the PEM files now: a sink is created at start-up,
 * where an unreadable file must stop the process with a message naming the file.
 */
export function tlsConnectionOptions(cfg: TlsClientConfig): ConnectionOptions {
  const read = (file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read TLS file ${file}: ${(err as Error).message}`);
    }
  };
  const opts: ConnectionOptions = { rejectUnauthorized: !cfg.insecureSkipVerify };
  if (cfg.caFile) opts.ca = read(cfg.caFile);
  if (cfg.certFile) opts.cert = read(cfg.certFile);
  if (cfg.keyFile) opts.key = read(cfg.keyFile);
  if (cfg.serverName) opts.servername = cfg.serverName;
  return opts;
}

/**
 * A secret given inline as `<key>` or as `<key>File` (a mounted Secret); exactly one.
 * Reading the file while parsing lets a bad path fail start-up with the other problems.
 */
export function readSecret(raw: Record<string, unknown>, path: string, problems: Problems, key: string): string {
  const inline = raw[key];
  const file = raw[`${key}File`];
  if ((inline === undefined) === (file === undefined)) {
    problems.add(path, `needs exactly one of ${key} and ${key}File`);
    return '';
  }
  if (inline !== undefined) {
    if (typeof inline !== 'string' || inline === '') problems.add(`${path}.${key}`, 'must be a non-empty string');
    return String(inline);
  }
  try {
    const value = readFileSync(String(file), 'utf8').trim();
    if (value === '') problems.add(`${path}.${key}File`, 'is empty');
    return value;
  } catch (err) {
    problems.add(`${path}.${key}File`, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return '';
  }
}

/**
 * Milliseconds to wait according to a Retry-After header (delay-seconds or HTTP-date),
 * or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body as text, cut at the poster's size limit. */
  readonly body: string;
}

/** Either the receiver answered (any status), or the attempt failed before it could. */
export type HttpPostOutcome =
  { readonly ok: true; readonly response: HttpResponse } | { readonly ok: false; readonly result: Result };

/**
 * The Result an HTTP status means on its own: 2xx success; 408, 429 and 5xx (but 501 and
 * 505) retryable, honouring Retry-After; anything else a failure no retry fixes.
 */
export function resultForStatus(response: HttpResponse, what: string): Result {
  const { status } = response;
  if (status >= 200 && status < 300) return { status: 'success' };
  const detail = `${what}: HTTP ${status}${response.body ? ` ${snippet(response.body)}` : ''}`;
  if (status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505)) {
    return retryable(detail, parseRetryAfter(response.headers['retry-after']));
  }
  return failure(detail);
}

/** A short single-line excerpt of a response body for error messages. */
export function snippet(body: string, max = 300): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export interface HttpPostRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** Sends POST requests to one receiver over pooled keep-alive connections. */
export interface HttpPoster {
  /** One attempt; never throws. Transport errors and timeouts come back as retryable Results. */
  post(request: HttpPostRequest, signal: AbortSignal): Promise<HttpPostOutcome>;
  /** Closes pooled connections. */
  close(): void;
}

export interface HttpPosterOptions {
  /** Sink id and type: the metric labels. */
  readonly sinkId: string;
  readonly sinkType: string;
  /** Deadline of one attempt, connect to last response byte. */
  readonly timeoutMs: number;
  readonly tls: TlsClientConfig | undefined;
  readonly registry: Registry;
  /** Response bodies beyond this are cut (default 16 MiB). */
  readonly maxResponseBytes?: number;
}

/** Error codes of a server certificate the client rejects. */
export const TLS_VERIFY_CODES =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID)/;

export function createHttpPoster(opts: HttpPosterOptions): HttpPoster {
  const maxBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024;
  const tlsOpts = opts.tls ? tlsConnectionOptions(opts.tls) : {};
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, ...tlsOpts });
  const { requests, duration } = httpMetrics(opts.registry);
  const labels = { sink: opts.sinkId, type: opts.sinkType };

  function post(request: HttpPostRequest, signal: AbortSignal): Promise<HttpPostOutcome> {
    const started = process.hrtime.bigint();
    return new Promise<HttpPostOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: HttpPostOutcome, label: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        requests.inc({ ...labels, outcome: label });
        duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
        resolve(outcome);
      };
      if (signal.aborted) {
        settle({ ok: false, result: retryable('aborted before sending') }, 'aborted');
        return;
      }
      const isHttps = request.url.protocol === 'https:';
      const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
      const req = (isHttps ? https : http).request(request.url, {
        method: 'POST',
        agent: isHttps ? httpsAgent : httpAgent,
        headers: { ...request.headers, 'content-length': String(body.length) },
      });
      const timer = setTimeout(() => {
        req.destroy();
        settle({ ok: false, result: retryable(`no response within ${opts.timeoutMs} ms`) }, 'timeout');
      }, opts.timeoutMs);
      const onAbort = (): void => {
        req.destroy();
        settle({ ok: false, result: retryable('aborted') }, 'aborted');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        if (TLS_VERIFY_CODES.test(code)) {
          settle({ ok: false, result: failure(`TLS verification failed: ${code}`) }, 'tls');
        } else {
          settle({ ok: false, result: retryable(`${code || 'connection error'}: ${err.message}`) }, 'connection');
        }
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < maxBytes) chunks.push(chunk.subarray(0, maxBytes - size));
          size += chunk.length;
        });
        res.on('error', (err) =>
          settle({ ok: false, result: retryable(`response interrupted: ${err.message}`) }, 'connection'),
        );
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const response = { status, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
          settle({ ok: true, response }, `${Math.floor(status / 100)}xx`);
        });
      });
      req.end(body);
    });
  }

  return {
    post,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** The HTTP metrics, registered once per registry and shared by every HTTP sink on it. */
function httpMetrics(registry: Registry): {
  requests: Counter<'sink' | 'type' | 'outcome'>;
  duration: Histogram<'sink' | 'type'>;
} {
  const requestsName = 'tripline_collector_sink_http_requests_total';
  const durationName = 'tripline_collector_sink_http_request_duration_seconds';
  const requests =
    (registry.getSingleMetric(requestsName) as Counter<'sink' | 'type' | 'outcome'> | undefined) ??
    new Counter({
      name: requestsName,
      help: 'HTTP requests made by sinks, by outcome (status class, timeout, connection, tls, aborted).',
      labelNames: ['sink', 'type', 'outcome'],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric(durationName) as Histogram<'sink' | 'type'> | undefined) ??
    new Histogram({
      name: durationName,
      help: 'Time from sending a sink HTTP request to its last response byte or its failure.',
      labelNames: ['sink', 'type'],
      buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30],
      registers: [registry],
    });
  return { requests, duration };
}
