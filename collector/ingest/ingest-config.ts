import { isIP } from 'node:net';
import type { Problems } from '../../lib/config-problems.js';
import { parseDuration } from '../../lib/duration.js';

/** Server TLS material; files are read when the server starts. */
export interface IngestTlsConfig {
  /** PEM certificate chain the collector presents. */
  readonly certFile: string;
  /** PEM private key of that certificate. */
  readonly keyFile: string;
  /** PEM bundle of CAs that sign agent client certificates; unset = no client certificates. */
  readonly clientCaFile: string | undefined;
  /** Refuse connections that present no client certificate signed by `clientCaFile`. */
  readonly requireClientCert: boolean;
}

/** HTTP/2 keepalive and connection lifetime, all in milliseconds. */
export interface IngestKeepaliveConfig {
  /** Ping an agent after this long without activity (default 30 s), so dead peers are noticed. */
  readonly timeMs: number;
  /** Close the connection when a ping is unanswered this long (default 10 s). */
  readonly timeoutMs: number;
  /** Close connections idle (no stream) this long (default 5 m). */
  readonly maxConnectionIdleMs: number;
  /** Ask agents to reconnect after this long, spreading them over collector replicas; 0 = never. */
  readonly maxConnectionAgeMs: number;
}

/** The ingest server's configuration, validated and frozen by parseIngestConfig. */
export interface IngestConfig {
  /** host:port to listen on; host is an IP literal or "localhost", port 0 picks a free one. */
  readonly listen: string;
  /** Host part of `listen` without brackets. */
  readonly host: string;
  /** Port part of `listen`. */
  readonly port: number;
  /** Set to serve TLS; without it only loopback listeners are allowed (unless allowInsecure). */
  readonly tls: IngestTlsConfig | undefined;
  /** Serve plaintext on a non-loopback address (inside a mesh that encrypts for us). */
  readonly allowInsecure: boolean;
  /** Largest gRPC message (one batch) accepted, in bytes; larger ones fail RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Most envelopes one batch may carry. */
  readonly maxEnvelopesPerBatch: number;
  /** Static agent tokens given inline (prefer tokenFile: config files get copied around). */
  readonly tokens: readonly string[];
  /** File with one agent token per line ('#' comments); re-read when it changes. */
  readonly tokenFile: string | undefined;
  readonly keepalive: IngestKeepaliveConfig;
}

export const INGEST_DEFAULTS = Object.freeze({
  listen: '127.0.0.1:7443',
  maxMessageBytes: 4 * 1024 * 1024,
  maxEnvelopesPerBatch: 10_000,
  keepalive: Object.freeze({
    timeMs: 30_000,
    timeoutMs: 10_000,
    maxConnectionIdleMs: 300_000,
    maxConnectionAgeMs: 0,
  }),
});

/** A token shorter than this is guessable; agents get a random one from the installer. */
export const MIN_TOKEN_LENGTH = 16;

const KNOWN_KEYS = [
  'listen',
  'tls',
  'allowInsecure',
  'maxMessageBytes',
  'maxEnvelopesPerBatch',
  'tokens',
  'tokenFile',
  'keepalive',
];

/**
 * Reads the `ingest` section at `path` (default "ingest"), reporting every problem, and
 * returns a frozen config with defaults filled in. `raw` may be undefined (all defaults).
 */
export function parseIngestConfig(raw: unknown, problems: Problems, path = 'ingest'): IngestConfig {
  const obj = asObject(raw ?? {}, path, problems);
  for (const key of Object.keys(obj)) {
    if (!KNOWN_KEYS.includes(key)) problems.add(`${path}.${key}`, 'is not a known ingest setting');
  }

  const listen = obj.listen ?? INGEST_DEFAULTS.listen;
  let host = '127.0.0.1';
  let port = 7443;
  if (typeof listen !== 'string') {
    problems.add(`${path}.listen`, 'must be a "host:port" string');
  } else {
    const parsed = parseListenAddress(listen);
    if (typeof parsed === 'string') problems.add(`${path}.listen`, parsed);
    else ({ host, port } = parsed);
  }

  const tls = obj.tls === undefined ? undefined : parseTls(obj.tls, `${path}.tls`, problems);
  const allowInsecure = bool(obj.allowInsecure, false, `${path}.allowInsecure`, problems);
  const maxMessageBytes = int(
    obj.maxMessageBytes,
    INGEST_DEFAULTS.maxMessageBytes,
    1024,
    256 * 1024 * 1024,
    `${path}.maxMessageBytes`,
    problems,
  );
  const maxEnvelopesPerBatch = int(
    obj.maxEnvelopesPerBatch,
    INGEST_DEFAULTS.maxEnvelopesPerBatch,
    1,
    1_000_000,
    `${path}.maxEnvelopesPerBatch`,
    problems,
  );

  const tokens: string[] = [];
  if (obj.tokens !== undefined) {
    if (!Array.isArray(obj.tokens)) problems.add(`${path}.tokens`, 'must be a list of strings');
    else
      obj.tokens.forEach((t, i) => {
        // The message never echoes the value: it is a secret even when it is a bad one.
        if (typeof t !== 'string' || t.length < MIN_TOKEN_LENGTH || /\s/.test(t)) {
          problems.add(
            `${path}.tokens[${i}]`,
            `must be a string of at least ${MIN_TOKEN_LENGTH} characters without whitespace`,
          );
        } else tokens.push(t);
      });
  }
  let tokenFile: string | undefined;
  if (obj.tokenFile !== undefined) {
    if (typeof obj.tokenFile !== 'string' || obj.tokenFile === '')
      problems.add(`${path}.tokenFile`, 'must be a file path');
    else tokenFile = obj.tokenFile;
  }

  const keepalive = parseKeepalive(obj.keepalive, `${path}.keepalive`, problems);
  const config: IngestConfig = Object.freeze({
    listen: typeof listen === 'string' ? listen : INGEST_DEFAULTS.listen,
    host,
    port,
    tls,
    allowInsecure,
    maxMessageBytes,
    maxEnvelopesPerBatch,
    tokens: Object.freeze(tokens),
    tokenFile,
    keepalive,
  });
  const insecure = insecureListenProblem(config);
  if (insecure) problems.add(`${path}.listen`, insecure);
  return config;
}

/** Host and port of "host:port" / "[v6]:port", or why it is not a listen address. */
export function parseListenAddress(listen: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  if (!m) return 'must be "host:port" (IPv6 as "[::1]:7443")';
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range`;
  if (host !== 'localhost' && isIP(host) === 0) return `host "${host}" must be an IP address or "localhost"`;
  if (m[1] !== undefined && isIP(host) !== 6) return `"[${host}]" is not an IPv6 address`;
  return { host, port };
}

/** True for 127.0.0.0/8, ::1, IPv4-mapped loopback and "localhost". */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Why this config must not start, or undefined: plaintext on a reachable address would
 * send agent tokens and every observation in the clear.
 */
export function insecureListenProblem(
  config: Pick<IngestConfig, 'host' | 'tls' | 'allowInsecure' | 'listen'>,
): string | undefined {
  if (config.tls || config.allowInsecure || isLoopbackHost(config.host)) return undefined;
  return `refusing plaintext gRPC on non-loopback address ${config.listen}: configure tls (certFile, keyFile) or set allowInsecure: true`;
}

function parseTls(raw: unknown, path: string, problems: Problems): IngestTlsConfig | undefined {
  const obj = asObject(raw, path, problems);
  const file = (key: string, required: boolean): string | undefined => {
    const v = obj[key];
    if (v === undefined) {
      if (required) problems.add(`${path}.${key}`, 'is required when tls is set');
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      problems.add(`${path}.${key}`, 'must be a file path');
      return undefined;
    }
    return v;
  };
  for (const key of Object.keys(obj)) {
    if (!['certFile', 'keyFile', 'clientCaFile', 'requireClientCert'].includes(key)) {
      problems.add(`${path}.${key}`, 'is not a known tls setting');
    }
  }
  const certFile = file('certFile', true);
  const keyFile = file('keyFile', true);
  const clientCaFile = file('clientCaFile', false);
  const requireClientCert = bool(obj.requireClientCert, false, `${path}.requireClientCert`, problems);
  if (requireClientCert && obj.clientCaFile === undefined) {
    problems.add(`${path}.requireClientCert`, 'needs clientCaFile to verify client certificates against');
  }
  if (certFile === undefined || keyFile === undefined) return undefined;
  return Object.freeze({ certFile, keyFile, clientCaFile, requireClientCert });
}

function parseKeepalive(raw: unknown, path: string, problems: Problems): IngestKeepaliveConfig {
  const obj = asObject(raw ?? {}, path, problems);
  const d = INGEST_DEFAULTS.keepalive;
  const duration = (key: keyof IngestKeepaliveConfig, name: string, min: number): number => {
    const v = obj[name];
    if (v === undefined) return d[key];
    const ms = parseDuration(v);
    if (ms === undefined || ms < min) {
      problems.add(`${path}.${name}`, `must be a duration like "30s" or "5m"${min ? ` of at least ${min} ms` : ''}`);
      return d[key];
    }
    return ms;
  };
  for (const key of Object.keys(obj)) {
    if (!['time', 'timeout', 'maxConnectionIdle', 'maxConnectionAge'].includes(key)) {
      problems.add(`${path}.${key}`, 'is not a known keepalive setting');
    }
  }
  return Object.freeze({
    // Pings more often than every second are abuse-grade on both ends.
    timeMs: duration('timeMs', 'time', 1000),
    timeoutMs: duration('timeoutMs', 'timeout', 1000),
    maxConnectionIdleMs: duration('maxConnectionIdleMs', 'maxConnectionIdle', 1000),
    maxConnectionAgeMs: duration('maxConnectionAgeMs', 'maxConnectionAge', 0),
  });
}

function asObject(raw: unknown, path: string, problems: Problems): Record<string, unknown> {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return raw as Record<string, unknown>;
  problems.add(path, 'must be an object');
  return {};
}

function bool(v: unknown, dflt: boolean, path: string, problems: Problems): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') {
    problems.add(path, 'must be true or false');
    return dflt;
  }
  return v;
}

function int(v: unknown, dflt: number, min: number, max: number, path: string, problems: Problems): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.add(path, `must be an integer from ${min} to ${max}`);
    return dflt;
  }
  return v;
}
