import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';
import { parseTlsClientConfig, readSecret, type TlsClientConfig } from '../http-post.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';

export interface HecSinkConfig extends BaseSinkConfig {
  readonly type: 'hec';
  /** The event endpoint, e.g. https://splunk:8088/services/collector/event. */
  readonly url: URL;
  /** HEC token, from `token` or read from `tokenFile` (a mounted Secret). Never logged. */
  readonly token: string;
  /** Body of each event: Tripline's incident JSON or an OCSF Detection Finding. */
  readonly format: 'json' | 'ocsf';
  /** Target index; empty uses the token's default index. */
  readonly index: string;
  readonly source: string;
  /** Default "tripline:incident" (json) or "tripline:ocsf" (ocsf). */
  readonly sourcetype: string;
  /** HEC `host` of every event; empty uses the node the evidence came from. */
  readonly host: string;
  /** X-Splunk-Request-Channel, required when the token has indexer acknowledgement on. */
  readonly channel: string;
  readonly timeoutMs: number;
  readonly tls: TlsClientConfig | undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseHecSinkConfig(raw: Record<string, unknown>, path: string, problems: Problems): HecSinkConfig {
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: 100 });
  let url = new URL('http://invalid.invalid/');
  try {
    url = new URL(String(raw.url));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    // A base URL gets the event endpoint; an explicit endpoint path is kept as given.
    if (!/\/services\/collector(\/event)?(\/1\.0)?\/?$/.test(url.pathname)) {
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/services/collector/event`;
    }
  } catch {
    problems.add(`${path}.url`, 'must be an http(s) URL of the HEC endpoint, e.g. https://splunk:8088');
  }
  const token = readSecret(raw, path, problems, 'token');
  const format = raw.format ?? 'json';
  if (format !== 'json' && format !== 'ocsf') problems.add(`${path}.format`, 'must be json or ocsf');
  const str = (key: string, dflt: string): string => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'string') problems.add(`${path}.${key}`, 'must be a string');
    return String(v);
  };
  const channel = str('channel', '');
  if (channel !== '' && !GUID.test(channel)) problems.add(`${path}.channel`, 'must be a GUID');
  const timeoutMs = parseDuration(raw.timeout ?? '10s');
  if (timeoutMs === undefined || timeoutMs <= 0)
    problems.add(`${path}.timeout`, 'must be a positive duration like "10s"');
  return Object.freeze({
    ...base,
    type: 'hec' as const,
    url,
    token,
    format: format as 'json' | 'ocsf',
    index: str('index', ''),
    source: str('source', 'tripline'),
    sourcetype: str('sourcetype', format === 'ocsf' ? 'tripline:ocsf' : 'tripline:incident'),
    host: str('host', ''),
    channel,
    timeoutMs: timeoutMs ?? 10_000,
    tls: parseTlsClientConfig(raw.tls, `${path}.tls`, problems),
  });
}
