/** Decoded form of Incident (proto/tripline/v1/incident.proto): what sinks and the API carry. */
import type { TriplineEvent, WorkloadRef } from './events.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity for comparisons: info 0 … critical 4. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Severity band a 0-100 score falls in. */
export function severityForScore(score: number): Severity {
  if (score >= 90) return 'critical';
  if (score >= 70) return 'high';
  if (score >= 40) return 'medium';
  if (score >= 20) return 'low';
  return 'info';
}

/** Rule ids, one per detection in DESIGN.md. */
export const RULE_IDS = [
  'unexpected-exec',
  'dropped-binary-exec',
  'unexpected-syscall',
  'protected-path-write',
  'unexpected-file-write',
  'new-listener',
  'unexpected-egress',
  'cross-sensitivity-flow',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface Incident {
  /** Stable id derived from the signature (workload + rule + generalised key). */
  readonly id: string;
  /** Increases each time the incident is (re-)sent; id + revision is the idempotency key. */
  readonly revision: number;
  readonly rule: RuleId;
  readonly severity: Severity;
  /** 0-100 score behind the severity, after context adjustments. */
  readonly score: number;
  readonly workload: WorkloadRef;
  /** workloadKey(workload), precomputed. */
  readonly workloadKey: string;
  /** The generalised item that did not match, e.g. "/bin/sh" or "tcp/8080". */
  readonly key: string;
  /** One-line human summary. */
  readonly summary: string;
  readonly mitreTechniques: readonly string[];
  readonly mitreTactics: readonly string[];
  /** Occurrences folded into this incident so far. */
  readonly count: number;
  /** Milliseconds since the Unix epoch. */
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** The observation that opened or last raised the incident. */
  readonly evidence: TriplineEvent;
  /** Context that adjusted the severity, e.g. "tier:restricted", "learning". */
  readonly context: readonly string[];
}
