/**
 * POSTs incidents as JSON (docs/webhook.md): a JSON array per request in batch mode, one
 * object per request otherwise. Every request carries a fresh timestamp and, with a
 * secret, its HMAC signature, so a retry an hour later still verifies while a captured
 * request cannot be replayed beyond the receiver's tolerance window.
 */
import { incidentJson, idempotencyKey } from '../formats/incident-json.js';
import { createHttpPoster, resultForStatus } from '../http-post.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import { SUCCESS, type Result } from '../../../lib/result.js';
import type { Incident } from '../../../proto/incident.js';
import type { WebhookSinkConfig } from './webhook-config.js';
import { IDEMPOTENCY_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.js';

export interface WebhookSinkDeps extends SinkDeps {
  /** Milliseconds since the epoch, for the timestamp header (tests pass a clock). */
  readonly now?: () => number;
}

export function createWebhookSink(config: WebhookSinkConfig, deps: WebhookSinkDeps): Sink {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'webhook-sink', sink: config.id });
  const poster = createHttpPoster({
    sinkId: config.id,
    sinkType: 'webhook',
    timeoutMs: config.timeoutMs,
    tls: config.tls,
    registry: deps.registry,
    maxResponseBytes: 64 * 1024,
  });
  log.info(
    { url: `${config.url.origin}${config.url.pathname}`, batch: config.batch, signed: config.hmacSecret !== undefined },
    'webhook sink ready',
  );

  async function post(body: string, extra: Record<string, string>, signal: AbortSignal): Promise<Result> {
    const timestamp = String(Math.floor(now() / 1000));
    const headers: Record<string, string> = {
      ...config.headers,
      'content-type': 'application/json',
      'user-agent': 'tripline-webhook/1',
      [TIMESTAMP_HEADER]: timestamp,
      ...extra,
    };
    if (config.hmacSecret !== undefined) headers[SIGNATURE_HEADER] = signWebhook(config.hmacSecret, timestamp, body);
    const outcome = await poster.post({ url: config.url, headers, body }, signal);
    return outcome.ok ? resultForStatus(outcome.response, 'webhook') : outcome.result;
  }

  return {
    id: config.id,
    type: 'webhook',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,

    async send(incidents: readonly Incident[], signal: AbortSignal): Promise<Result> {
      if (incidents.length === 0) return SUCCESS;
      if (config.batch) {
        return post(
          JSON.stringify(incidents.map(incidentJson)),
          { 'x-tripline-batch-size': String(incidents.length) },
          signal,
        );
      }
      // One request each, in order; the first that does not succeed decides for the rest
      // (the delivery loop re-sends the batch, receivers de-duplicate on the key).
      for (const incident of incidents) {
        const r = await post(
          JSON.stringify(incidentJson(incident)),
          { [IDEMPOTENCY_HEADER]: idempotencyKey(incident) },
          signal,
        );
        if (r.status !== 'success') return r;
      }
      return SUCCESS;
    },

    async close() {
      poster.close();
    },
  };
}
