/**
 * Elasticsearch / OpenSearch sink: one `_bulk` request per batch of ECS alert documents.
 *
 * Each document is indexed with a `create` action whose `_id` is the incident's
 * idempotency key, so a re-sent batch cannot duplicate: an item that already exists comes
 * back 409 and counts as delivered. `create` also makes data streams work as targets.
 *
 * The bulk reply reports each item on its own; the batch Result is:
 * - success when every item was created or already existed (409);
 * - retryable when any item was refused for a reason a retry can fix (429, 5xx) — the
 *   outbox re-sends the whole batch and the items already stored answer 409;
 * - failure when the remaining items were rejected for good (mapping or parsing errors);
 *   the error names them. Items stored in the same batch stay stored.
 */
import { Counter, type Registry } from 'prom-client';
import type { Incident } from '../../../proto/incident.js';
import { failure, retryable, SUCCESS, type Result } from '../../../lib/result.js';
import { toEcsDocument } from '../formats/ecs.js';
import { idempotencyKey } from '../formats/incident-json.js';
import { createHttpPoster, parseRetryAfter, resultForStatus, snippet } from '../http-post.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import type { ElasticsearchSinkConfig } from './elasticsearch-config.js';

export { parseElasticsearchSinkConfig, type ElasticsearchSinkConfig } from './elasticsearch-config.js';

type ItemOutcome = 'created' | 'duplicate' | 'retryable' | 'rejected';

interface BulkItem {
  readonly status?: number;
  readonly _id?: string;
  readonly error?: { readonly type?: string; readonly reason?: string };
}

/** The NDJSON body: a `create` action line and a document line per incident. */
export function bulkBody(incidents: readonly Incident[], index: string): string {
  const lines: string[] = [];
  for (const i of incidents) {
    lines.push(JSON.stringify({ create: { _index: index, _id: idempotencyKey(i) } }), JSON.stringify(toEcsDocument(i)));
  }
  // The bulk API requires the body to end with a newline.
  return `${lines.join('\n')}\n`;
}

export function createElasticsearchSink(config: ElasticsearchSinkConfig, deps: SinkDeps): Sink {
  const log = deps.log.child({ component: 'sink', sink: config.id, type: 'elasticsearch' });
  const items = itemCounter(deps.registry);
  const poster = createHttpPoster({
    sinkId: config.id,
    sinkType: 'elasticsearch',
    timeoutMs: config.timeoutMs,
    tls: config.tls,
    registry: deps.registry,
  });
  const url = new URL(config.url);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/_bulk`;
  // Only what the sink reads: a 10k-item reply shrinks from megabytes to status codes.
  url.searchParams.set('filter_path', 'errors,items.*.status,items.*._id,items.*.error.type,items.*.error.reason');
  if (config.pipeline) url.searchParams.set('pipeline', config.pipeline);
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', 'user-agent': 'tripline' };
  if (config.auth.kind === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password}`).toString('base64')}`;
  } else if (config.auth.kind === 'apiKey') {
    headers.authorization = `ApiKey ${config.auth.apiKey}`;
  }

  return {
    id: config.id,
    type: 'elasticsearch',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,
    async send(incidents, signal) {
      if (incidents.length === 0) return SUCCESS;
      let body: string;
      try {
        body = bulkBody(incidents, config.index);
      } catch (err) {
        log.warn({ err }, 'cannot encode incidents for Elasticsearch');
        return failure(`encode: ${(err as Error).message}`);
      }
      const outcome = await poster.post({ url, headers, body }, signal);
      if (!outcome.ok) return outcome.result;
      const { response } = outcome;
      if (response.status === 413) {
        return failure(`Elasticsearch: HTTP 413 request too large for ${incidents.length} incidents; lower maxBatch`);
      }
      if (response.status < 200 || response.status >= 300) return resultForStatus(response, 'Elasticsearch');
      let reply: { errors?: boolean; items?: Record<string, BulkItem>[] };
      try {
        reply = JSON.parse(response.body) as typeof reply;
      } catch {
        return retryable(`Elasticsearch: unreadable bulk reply: ${snippet(response.body)}`);
      }
      const result = bulkResult(reply, incidents.length, parseRetryAfter(response.headers['retry-after']));
      for (const [o, n] of Object.entries(result.counts)) if (n) items.inc({ sink: config.id, outcome: o }, n);
      if (result.result.status === 'failure') log.debug({ error: result.result.error }, 'bulk items rejected');
      return result.result;
    },
    async close() {
      poster.close();
    },
  };
}

/** The batch Result from a bulk reply, and how many items had each outcome. */
export function bulkResult(
  reply: { errors?: boolean; items?: Record<string, BulkItem>[] },
  sent: number,
  retryInMillis: number | undefined,
): { result: Result; counts: Record<ItemOutcome, number> } {
  const counts: Record<ItemOutcome, number> = { created: 0, duplicate: 0, retryable: 0, rejected: 0 };
  const list = reply.items ?? [];
  // Without errors, filter_path drops nothing an item needs; but a reply that lists fewer
  // items than were sent cannot prove the rest were stored.
  if (list.length !== sent) {
    return { result: retryable(`Elasticsearch: bulk reply lists ${list.length} of ${sent} items`), counts };
  }
  const retryReasons: string[] = [];
  const rejections: string[] = [];
  for (const entry of list) {
    const item = Object.values(entry)[0] ?? {};
    const status = item.status ?? 0;
    if (status >= 200 && status < 300) counts.created++;
    else if (status === 409) counts.duplicate++;
    else {
      const why =
        `${item._id ?? '?'}: ${status} ${item.error?.type ?? ''} ${snippet(item.error?.reason ?? '', 160)}`.trim();
      if (status === 429 || status >= 500) {
        counts.retryable++;
        retryReasons.push(why);
      } else {
        counts.rejected++;
        rejections.push(why);
      }
    }
  }
  if (retryReasons.length) {
    const more = rejections.length ? `; ${rejections.length} rejected for good` : '';
    return {
      result: retryable(
        `Elasticsearch: ${retryReasons.length} of ${sent} items refused, e.g. ${retryReasons[0]}${more}`,
        retryInMillis,
      ),
      counts,
    };
  }
  if (rejections.length) {
    return {
      result: failure(
        `Elasticsearch: ${rejections.length} of ${sent} items rejected: ${rejections.slice(0, 3).join('; ')}`,
      ),
      counts,
    };
  }
  return { result: SUCCESS, counts };
}

function itemCounter(registry: Registry): Counter<'sink' | 'outcome'> {
  const name = 'tripline_collector_elasticsearch_bulk_items_total';
  return (
    (registry.getSingleMetric(name) as Counter<'sink' | 'outcome'> | undefined) ??
    new Counter({
      name,
      help: 'Elasticsearch bulk items by outcome: created, duplicate (already stored), retryable, rejected.',
      labelNames: ['sink', 'outcome'],
      registers: [registry],
    })
  );
}
