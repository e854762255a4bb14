import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';
import { parseTlsClientConfig, type TlsClientConfig } from '../http-post.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';

export interface AlertmanagerSinkConfig extends BaseSinkConfig {
  readonly type: 'alertmanager';
  /** Alertmanager base URLs; every member of an HA cluster should be listed. */
  readonly urls: readonly URL[];
  /**
   * How long an alert stays firing after its last send (endsAt = send time + this).
   * Default 1h. Incidents have no "resolved" event, so silence resolves the alert.
   */
  readonly endsAfterMs: number;
  /** Link back to the incident; "{id}" is replaced by the incident id. Empty for none. */
  readonly generatorUrl: string;
  /** Static labels added to every alert, e.g. { team: "platform-security" }. */
  readonly extraLabels: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly tls: TlsClientConfig | undefined;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseAlertmanagerSinkConfig(
  raw: Record<string, unknown>,
  path: string,
  problems: Problems,
): AlertmanagerSinkConfig {
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: 64 });
  const rawUrls = raw.urls ?? (raw.url !== undefined ? [raw.url] : undefined);
  const urls: URL[] = [];
  if (!Array.isArray(rawUrls) || rawUrls.length === 0) {
    problems.add(`${path}.urls`, 'must list at least one Alertmanager URL (or give url)');
  } else {
    rawUrls.forEach((u, n) => {
      try {
        const url = new URL(String(u));
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
        url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
        urls.push(url);
      } catch {
        problems.add(`${path}.urls[${n}]`, 'must be an http(s) URL, e.g. http://alertmanager:9093');
      }
    });
  }
  const endsAfterMs = parseDuration(raw.endsAfter ?? '1h');
  if (endsAfterMs === undefined || endsAfterMs < 60_000)
    problems.add(`${path}.endsAfter`, 'must be a duration of at least 1m');
  const generatorUrl = raw.generatorUrl ?? '';
  if (
    typeof generatorUrl !== 'string' ||
    (generatorUrl !== '' && !URL.canParse(generatorUrl.replaceAll('{id}', 'x')))
  ) {
    problems.add(`${path}.generatorUrl`, 'must be a URL, optionally with {id} for the incident id');
  }
  const extra = raw.extraLabels ?? {};
  const extraLabels: Record<string, string> = {};
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    problems.add(`${path}.extraLabels`, 'must be a map of label name to value');
  } else {
    for (const [k, v] of Object.entries(extra)) {
      if (!LABEL_NAME.test(k) || k.startsWith('__'))
        problems.add(`${path}.extraLabels.${k}`, 'is not a valid label name');
      else if (typeof v !== 'string' || v === '')
        problems.add(`${path}.extraLabels.${k}`, 'must be a non-empty string');
      else extraLabels[k] = v;
    }
  }
  const timeoutMs = parseDuration(raw.timeout ?? '10s');
  if (timeoutMs === undefined || timeoutMs <= 0)
    problems.add(`${path}.timeout`, 'must be a positive duration like "10s"');
  return Object.freeze({
    ...base,
    type: 'alertmanager' as const,
    urls: Object.freeze(urls),
    endsAfterMs: endsAfterMs ?? 3_600_000,
    generatorUrl: String(generatorUrl),
    extraLabels: Object.freeze(extraLabels),
    timeoutMs: timeoutMs ?? 10_000,
    tls: parseTlsClientConfig(raw.tls, `${path}.tls`, problems),
  });
}
