/**
 * Splunk HTTP Event Collector sink: one POST to /services/collector/event per batch, the
 * body a concatenation of HEC event envelopes whose `event` is the incident JSON or an
 * OCSF Detection Finding.
 *
 * HEC answers with {"text", "code"}; the code, not only the HTTP status, says whether a
 * retry can help (see HEC_CODES). With indexer acknowledgement on, a 200 means "queued
 * for indexing"; this sink does not poll /services/collector/ack, so delivery is as
 * durable as the HEC tier's queue.
 */
import type { Incident } from '../../../proto/incident.js';
import { failure, retryable, SUCCESS, type Result } from '../../../lib/result.js';
import { incidentJson } from '../formats/incident-json.js';
import { toOcsfDetectionFinding } from '../formats/ocsf.js';
import { createHttpPoster, parseRetryAfter, resultForStatus, snippet, type HttpResponse } from '../http-post.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import type { HecSinkConfig } from './hec-config.js';

export { parseHecSinkConfig, type HecSinkConfig } from './hec-config.js';

/** HEC status codes a retry can fix: internal error, busy, unhealthy (queues full, ack service down). */
const RETRYABLE_CODES = new Set([8, 9, 18, 19, 20]);

/** The envelope of one incident in a HEC request body. */
export function hecEvent(incident: Incident, config: HecSinkConfig): Record<string, unknown> {
  const envelope: Record<string, unknown> = {
    // HEC time is epoch seconds; the fraction keeps millisecond ordering.
    time: incident.lastSeenMs / 1000,
    host: config.host || incident.evidence.node,
    source: config.source,
    sourcetype: config.sourcetype,
    // Indexed fields make the common filters cheap in Splunk (no search-time extraction);
    // empty values (namespace off Kubernetes) are left out rather than indexed as "".
    fields: Object.fromEntries(
      Object.entries({
        rule: incident.rule,
        severity: incident.severity,
        namespace: incident.workload.namespace,
        cluster: incident.workload.cluster,
      }).filter(([, v]) => v !== ''),
    ),
    event: config.format === 'ocsf' ? toOcsfDetectionFinding(incident) : incidentJson(incident),
  };
  if (config.index) envelope.index = config.index;
  return envelope;
}

export function createHecSink(config: HecSinkConfig, deps: SinkDeps): Sink {
  const log = deps.log.child({ component: 'sink', sink: config.id, type: 'hec' });
  const poster = createHttpPoster({
    sinkId: config.id,
    sinkType: 'hec',
    timeoutMs: config.timeoutMs,
    tls: config.tls,
    registry: deps.registry,
  });
  const headers: Record<string, string> = {
    authorization: `Splunk ${config.token}`,
    'content-type': 'application/json',
    'user-agent': 'tripline',
  };
  if (config.channel) headers['x-splunk-request-channel'] = config.channel;

  return {
    id: config.id,
    type: 'hec',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,
    async send(incidents, signal) {
      if (incidents.length === 0) return SUCCESS;
      let body: string;
      try {
        body = incidents.map((i) => JSON.stringify(hecEvent(i, config))).join('\n');
      } catch (err) {
        log.warn({ err }, 'cannot encode incidents for HEC');
        return failure(`encode: ${(err as Error).message}`);
      }
      const outcome = await poster.post({ url: config.url, headers, body }, signal);
      if (!outcome.ok) return outcome.result;
      return hecResult(outcome.response);
    },
    async close() {
      poster.close();
    },
  };
}

/** Reads HEC's {"text","code"} answer; falls back on the HTTP status when there is none. */
export function hecResult(response: HttpResponse): Result {
  let reply: { text?: unknown; code?: unknown; 'invalid-event-number'?: unknown } | undefined;
  try {
    reply = JSON.parse(response.body) as typeof reply;
  } catch {
    reply = undefined;
  }
  if (typeof reply?.code !== 'number') return resultForStatus(response, 'HEC');
  const code = reply.code;
  if (code === 0 && response.status >= 200 && response.status < 300) return SUCCESS;
  const invalidAt =
    typeof reply['invalid-event-number'] === 'number' ? ` (event ${reply['invalid-event-number']})` : '';
  const detail = `HEC code ${code} (HTTP ${response.status}): ${snippet(String(reply.text ?? ''))}${invalidAt}`;
  if (RETRYABLE_CODES.has(code) || response.status === 429) {
    return retryable(detail, parseRetryAfter(response.headers['retry-after']));
  }
  return failure(detail);
}
