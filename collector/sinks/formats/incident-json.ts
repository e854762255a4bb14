/**
 * Tripline's own JSON form of an incident (docs/incident-format.md): the body of the
 * webhook, the Kafka value and the HEC event unless OCSF is selected. Field names are a
 * public contract: add fields, never rename them.
 */
import type { TriplineEvent } from '../../../proto/events.js';
import type { Incident } from '../../../proto/incident.js';

export interface IncidentJson {
  readonly schema: 'tripline.incident/v1';
  readonly id: string;
  readonly revision: number;
  /** id + ':' + revision — receivers de-duplicate on it. */
  readonly idempotencyKey: string;
  readonly rule: string;
  readonly severity: string;
  readonly score: number;
  readonly summary: string;
  readonly workload: { cluster: string; namespace: string; kind: string; name: string; container: string; key: string };
  readonly key: string;
  readonly mitre: { techniques: readonly string[]; tactics: readonly string[] };
  readonly count: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly context: readonly string[];
  readonly evidence: Record<string, unknown>;
}

export function idempotencyKey(i: Incident): string {
  return `${i.id}:${i.revision}`;
}

/** The evidence event as plain JSON (no bigints, addresses as text). */
export function eventJson(e: TriplineEvent): Record<string, unknown> {
  const { container, process: proc, timeNs, ...rest } = e;
  return {
    ...rest,
    time: new Date(Math.floor(timeNs / 1e6)).toISOString(),
    // A string: nanoseconds since the epoch exceed the exact integer range of JSON numbers.
    timeUnixNano: BigInt(Math.round(timeNs)).toString(),
    container: {
      cgroupId: container.cgroupId,
      cgroupPath: container.cgroupPath,
      containerId: container.containerId,
      podUid: container.podUid,
      image: container.image,
      imageDigest: container.imageDigest,
      privileged: container.privileged,
    },
    process: { ...proc, argv: [...proc.argv] },
  };
}

export function incidentJson(i: Incident): IncidentJson {
  return {
    schema: 'tripline.incident/v1',
    id: i.id,
    revision: i.revision,
    idempotencyKey: idempotencyKey(i),
    rule: i.rule,
    severity: i.severity,
    score: i.score,
    summary: i.summary,
    workload: { ...i.workload, key: i.workloadKey },
    key: i.key,
    mitre: { techniques: i.mitreTechniques, tactics: i.mitreTactics },
    count: i.count,
    firstSeen: new Date(i.firstSeenMs).toISOString(),
    lastSeen: new Date(i.lastSeenMs).toISOString(),
    context: i.context,
    evidence: eventJson(i.evidence),
  };
}
