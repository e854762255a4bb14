import { readFileSync } from 'node:fs';
import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';
import { parseTlsClientConfig, type TlsClientConfig } from '../http-post.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';

export interface WebhookSinkConfig extends BaseSinkConfig {
  readonly type: 'webhook';
  readonly url: URL;
  /** true (default): one request carries a JSON array of incidents; false: one incident per request. */
  readonly batch: boolean;
  /** HMAC-SHA256 key, from `hmacSecret` or `hmacSecretFile`; undefined sends unsigned. Never logged. */
  readonly hmacSecret: string | undefined;
  /** Extra request headers (e.g. an Authorization the receiver wants). */
  readonly headers: Readonly<Record<string, string>>;
  /** Deadline of one request (default 10 s). */
  readonly timeoutMs: number;
  readonly tls: TlsClientConfig | undefined;
}

/** Headers the sink sets itself; config may not override them. */
const RESERVED = /^(content-type|content-length|host|transfer-encoding|connection|x-tripline-.*)$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseWebhookSinkConfig(
  raw: Record<string, unknown>,
  path: string,
  problems: Problems,
): WebhookSinkConfig {
  const batch = raw.batch ?? true;
  if (typeof batch !== 'boolean') problems.add(`${path}.batch`, 'must be true or false');
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: batch === false ? 1 : 100 });
  let url = new URL('https://invalid.invalid/');
  try {
    url = new URL(String(raw.url));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    if (url.username || url.password) problems.add(`${path}.url`, 'must not carry credentials; use headers');
  } catch {
    problems.add(`${path}.url`, 'must be an http(s) URL');
  }
  const headers: Record<string, string> = {};
  if (raw.headers !== undefined) {
    if (typeof raw.headers !== 'object' || raw.headers === null || Array.isArray(raw.headers)) {
      problems.add(`${path}.headers`, 'must be a mapping of header name to value');
    } else {
      for (const [name, value] of Object.entries(raw.headers)) {
        if (!TOKEN.test(name)) problems.add(`${path}.headers.${name}`, 'is not a valid header name');
        else if (RESERVED.test(name))
          problems.add(`${path}.headers.${name}`, 'is set by the sink and cannot be configured');
        if (typeof value !== 'string' || /[\r\n]/.test(value))
          problems.add(`${path}.headers.${name}`, 'must be a one-line string');
        else headers[name] = value;
      }
    }
  }
  const timeoutMs = parseDuration(raw.timeout ?? '10s');
  if (timeoutMs === undefined || timeoutMs <= 0)
    problems.add(`${path}.timeout`, 'must be a positive duration like "10s"');
  const config = {
    ...base,
    type: 'webhook' as const,
    url,
    batch: batch !== false,
    headers: Object.freeze(headers),
    timeoutMs: timeoutMs ?? 10_000,
    tls: parseTlsClientConfig(raw.tls, `${path}.tls`, problems),
  };
  // Not enumerable: a config dumped to a log or an API at any depth leaves it out.
  Object.defineProperty(config, 'hmacSecret', { value: readSecret(raw, path, problems), enumerable: false });
  return Object.freeze(config as WebhookSinkConfig);
}

/** `hmacSecret` inline or `hmacSecretFile` (a mounted Secret), at most one; read now so a bad path fails start-up. */
function readSecret(raw: Record<string, unknown>, path: string, problems: Problems): string | undefined {
  const inline = raw.hmacSecret;
  const file = raw.hmacSecretFile;
  if (inline !== undefined && file !== undefined) {
    problems.add(path, 'give hmacSecret or hmacSecretFile, not both');
    return undefined;
  }
  if (inline !== undefined) {
    if (typeof inline !== 'string' || inline.length < 16)
      problems.add(`${path}.hmacSecret`, 'must be a string of at least 16 characters');
    return typeof inline === 'string' ? inline : undefined;
  }
  if (file === undefined) return undefined;
  if (typeof file !== 'string' || file === '') {
    problems.add(`${path}.hmacSecretFile`, 'must be a file path');
    return undefined;
  }
  try {
    // Secrets mounted from Kubernetes often end in a newline nobody meant to sign with.
    const secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (secret.length < 16) problems.add(`${path}.hmacSecretFile`, 'must hold at least 16 characters');
    return secret;
  } catch (err) {
    problems.add(`${path}.hmacSecretFile`, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}
