import type { TriplineEvent, WorkloadRef } from '../../proto/events.js';
import type { RuleId, Severity } from '../../proto/incident.js';

/** One rule decision about one event, before aggregation into an incident. */
export interface Finding {
  readonly rule: RuleId;
  readonly severity: Severity;
  /** 0-100, after context adjustments. */
  readonly score: number;
  readonly workload: WorkloadRef;
  readonly workloadKey: string;
  /** Generalised item key; with workload and rule it forms the incident signature. */
  readonly key: string;
  readonly summary: string;
  readonly mitreTechniques: readonly string[];
  readonly mitreTactics: readonly string[];
  readonly context: readonly string[];
  readonly event: TriplineEvent;
}

/** The incidents stage as detection sees it. */
export interface FindingSink {
  /** Accepts a finding; never throws (aggregation and the outbox handle the rest). */
  submit(finding: Finding): void;
}
