/**
 * Alertmanager sink: POST /api/v2/alerts, one alert per incident, to every configured
 * Alertmanager (HA members do not share alerts with each other, only silences and the
 * notification log, so each needs its own copy).
 *
 * Alert identity is its label set; labels carry the incident id and never the revision or
 * count, so a re-send updates the same alert instead of opening a new one. A severity rise
 * changes the `severity` label and therefore opens a new alert, which is what routing by
 * severity needs; the old one resolves at its endsAt.
 *
 * endsAt: every send sets endsAt = now + endsAfter. The alert stays firing that long after
 * the incident's last send, and each re-send (a new revision, or an outbox retry) extends
 * it. Incidents have no "resolved" event, so this is how the alert ends.
 *
 * Result across members: success when at least one accepted the batch (that member
 * notifies; the others dedupe later sends by labels); retryable when none accepted and any
 * error was retryable; failure when every member refused for good (e.g. 400 invalid alert).
 */
import type { Incident } from '../../../proto/incident.js';
import { failure, retryable, SUCCESS, type Result } from '../../../lib/result.js';
import { createHttpPoster, resultForStatus } from '../http-post.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import type { AlertmanagerSinkConfig } from './alertmanager-config.js';

export { parseAlertmanagerSinkConfig, type AlertmanagerSinkConfig } from './alertmanager-config.js';

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export function toAlert(incident: Incident, config: AlertmanagerSinkConfig, nowMs: number): PostableAlert {
  const w = incident.workload;
  const e = incident.evidence;
  const labels: Record<string, string> = {
    ...config.extraLabels,
    alertname: 'TriplineIncident',
    rule: incident.rule,
    severity: incident.severity,
    namespace: w.namespace,
    workload: w.name,
    workload_kind: w.kind,
    container: w.container,
    cluster: w.cluster,
    incident_id: incident.id,
  };
  // An empty label value means "no such label" to Alertmanager matchers; leave it out.
  for (const [k, v] of Object.entries(labels)) if (v === '') delete labels[k];
  const mitre = [...incident.mitreTechniques, ...incident.mitreTactics].join(', ');
  const alert: PostableAlert = {
    labels,
    annotations: {
      summary: incident.summary,
      description: [
        incident.summary,
        `workload: ${incident.workloadKey}`,
        `item: ${incident.key}`,
        `evidence: node ${e.node}, pid ${e.process.pid}, ${e.process.exe}`,
        `score: ${incident.score}${incident.context.length ? ` (${incident.context.join(', ')})` : ''}`,
      ].join('\n'),
      mitre,
      count: String(incident.count),
      revision: String(incident.revision),
    },
    startsAt: new Date(incident.firstSeenMs).toISOString(),
    endsAt: new Date(nowMs + config.endsAfterMs).toISOString(),
  };
  if (!mitre) delete alert.annotations.mitre;
  if (config.generatorUrl) alert.generatorURL = config.generatorUrl.replaceAll('{id}', encodeURIComponent(incident.id));
  return alert;
}

export function createAlertmanagerSink(config: AlertmanagerSinkConfig, deps: SinkDeps): Sink {
  const log = deps.log.child({ component: 'sink', sink: config.id, type: 'alertmanager' });
  const poster = createHttpPoster({
    sinkId: config.id,
    sinkType: 'alertmanager',
    timeoutMs: config.timeoutMs,
    tls: config.tls,
    registry: deps.registry,
  });
  const headers = { 'content-type': 'application/json', 'user-agent': 'tripline' };

  return {
    id: config.id,
    type: 'alertmanager',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,
    async send(incidents: readonly Incident[], signal: AbortSignal): Promise<Result> {
      if (incidents.length === 0) return SUCCESS;
      const now = Date.now();
      const body = JSON.stringify(incidents.map((i) => toAlert(i, config, now)));
      const results = await Promise.all(
        config.urls.map(async (url) => {
          const outcome = await poster.post({ url, headers, body }, signal);
          return outcome.ok ? resultForStatus(outcome.response, `Alertmanager ${url.host}`) : outcome.result;
        }),
      );
      if (results.some((r) => r.status === 'success')) {
        const failed = results.filter((r) => r.status !== 'success');
        if (failed.length) log.debug({ failed: failed.length }, 'some Alertmanagers did not accept the alerts');
        return SUCCESS;
      }
      const errors = results.map((r) => (r.status === 'success' ? '' : r.error)).join('; ');
      const retry = results.filter((r): r is Extract<Result, { status: 'retryable' }> => r.status === 'retryable');
      if (retry.length) {
        const waits = retry.flatMap((r) => (r.retryInMillis === undefined ? [] : [r.retryInMillis]));
        return retryable(errors, waits.length ? Math.min(...waits) : undefined);
      }
      return failure(errors);
    },
    async close() {
      poster.close();
    },
  };
}
