import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';
import { parseTlsClientConfig, readSecret, type TlsClientConfig } from '../http-post.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';

/** How the sink authenticates: none, HTTP basic, or an Elasticsearch API key. */
export type ElasticsearchAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  /** The base64 "id:key" credential Elasticsearch returns as `encoded`. */
  | { readonly kind: 'apiKey'; readonly apiKey: string };

export interface ElasticsearchSinkConfig extends BaseSinkConfig {
  readonly type: 'elasticsearch';
  /** Cluster base URL, e.g. https://es.example:9200 (OpenSearch alike). */
  readonly url: URL;
  /** Index, alias or data stream written to; default "tripline-incidents". */
  readonly index: string;
  /** Ingest pipeline to run, if any. */
  readonly pipeline: string;
  readonly auth: ElasticsearchAuth;
  readonly timeoutMs: number;
  readonly tls: TlsClientConfig | undefined;
}

const INDEX_NAME = /^[a-z0-9][a-z0-9._+-]{0,254}$/;

export function parseElasticsearchSinkConfig(
  raw: Record<string, unknown>,
  path: string,
  problems: Problems,
): ElasticsearchSinkConfig {
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: 200 });
  let url = new URL('http://invalid.invalid/');
  try {
    url = new URL(String(raw.url));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    problems.add(`${path}.url`, 'must be the http(s) base URL of the cluster, e.g. https://es:9200');
  }
  const index = raw.index ?? 'tripline-incidents';
  if (typeof index !== 'string' || !INDEX_NAME.test(index)) {
    problems.add(`${path}.index`, 'must be a lowercase index, alias or data stream name');
  }
  const pipeline = raw.pipeline ?? '';
  if (typeof pipeline !== 'string') problems.add(`${path}.pipeline`, 'must be a pipeline name');
  const timeoutMs = parseDuration(raw.timeout ?? '30s');
  if (timeoutMs === undefined || timeoutMs <= 0)
    problems.add(`${path}.timeout`, 'must be a positive duration like "30s"');
  return Object.freeze({
    ...base,
    type: 'elasticsearch' as const,
    url,
    index: String(index),
    pipeline: String(pipeline),
    auth: parseAuth(raw.auth, `${path}.auth`, problems),
    timeoutMs: timeoutMs ?? 30_000,
    tls: parseTlsClientConfig(raw.tls, `${path}.tls`, problems),
  });
}

function parseAuth(raw: unknown, path: string, problems: Problems): ElasticsearchAuth {
  if (raw === undefined) return { kind: 'none' };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.add(path, 'must be an object with username/password or apiKey');
    return { kind: 'none' };
  }
  const r = raw as Record<string, unknown>;
  const hasKey = r.apiKey !== undefined || r.apiKeyFile !== undefined;
  const hasBasic = r.username !== undefined;
  if (hasKey === hasBasic) {
    problems.add(path, 'needs either username (with password or passwordFile) or apiKey (or apiKeyFile)');
    return { kind: 'none' };
  }
  if (hasKey) return Object.freeze({ kind: 'apiKey' as const, apiKey: readSecret(r, path, problems, 'apiKey') });
  if (typeof r.username !== 'string' || r.username === '' || r.username.includes(':')) {
    problems.add(`${path}.username`, 'must be a non-empty name without ":"');
  }
  return Object.freeze({
    kind: 'basic' as const,
    username: String(r.username),
    password: readSecret(r, path, problems, 'password'),
  });
}
