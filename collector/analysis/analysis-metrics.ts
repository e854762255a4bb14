/**
 * Metrics of the analysis stage. The hot path bumps plain numbers; prom-client sees them
 * only at scrape time through collect(), so counting an event costs an array increment
 * rather than a label-hash lookup.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EVENT_KINDS, type EventKind } from '../../proto/events.js';
import { SEVERITIES, type RuleId, type Severity } from '../../proto/incident.js';
import type { ProfileState } from '../../proto/profile.js';

export const ANALYSIS_DROP_REASONS = ['no_workload', 'profile_full', 'invalid_event'] as const;
export type AnalysisDropReason = (typeof ANALYSIS_DROP_REASONS)[number];

export interface AnalysisMetrics {
  /** Events by kind index (EVENT_KINDS order). */
  readonly events: Float64Array;
  countFinding(rule: RuleId, severity: Severity): void;
  countSilenced(rule: RuleId): void;
  countRuleError(rule: RuleId): void;
  countDrop(reason: AnalysisDropReason): void;
  countPersistFailure(): void;
  readonly evaluationSeconds: Histogram;
}

export interface ProfileCounts {
  byState(): Record<ProfileState, number>;
  items(): number;
}

export const KIND_INDEX: Readonly<Record<EventKind, number>> = Object.freeze(
  Object.fromEntries(EVENT_KINDS.map((k, i) => [k, i])) as Record<EventKind, number>,
);

const SEVERITY_INDEX: Readonly<Record<Severity, number>> = Object.freeze(
  Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>,
);

export function createAnalysisMetrics(registry: Registry, profiles: ProfileCounts): AnalysisMetrics {
  const events = new Float64Array(EVENT_KINDS.length);
  // Per rule, one slot per severity: a label pair without building a string per finding.
  const findings = new Map<RuleId, Float64Array>();
  const silenced = new Map<RuleId, number>();
  const ruleErrors = new Map<RuleId, number>();
  const drops = new Map<AnalysisDropReason, number>();
  let persistFailures = 0;
  const bump = <K>(m: Map<K, number>, k: K): void => void m.set(k, (m.get(k) ?? 0) + 1);
  // Drains pending counts into a counter at scrape time.
  const drain = <K extends string>(m: Map<K, number>, inc: (k: K, n: number) => void): void => {
    for (const [k, n] of m) if (n > 0) inc(k, n);
    m.clear();
  };

  new Counter({
    name: 'tripline_collector_events_total',
    help: 'Events that reached analysis, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      EVENT_KINDS.forEach((kind, i) => {
        this.inc({ kind }, events[i]!);
        events[i] = 0;
      });
    },
  });
  new Counter({
    name: 'tripline_collector_findings_total',
    help: 'Findings submitted to the incidents stage, by rule and severity',
    labelNames: ['rule', 'severity'],
    registers: [registry],
    collect() {
      for (const [rule, bySeverity] of findings) {
        SEVERITIES.forEach((severity, i) => {
          if (bySeverity[i]! > 0) this.inc({ rule, severity }, bySeverity[i]!);
        });
        bySeverity.fill(0);
      }
    },
  });
  new Counter({
    name: 'tripline_collector_findings_silenced_total',
    help: 'Findings a policy exception silenced, by rule',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      drain(silenced, (rule, n) => this.inc({ rule }, n));
    },
  });
  new Counter({
    name: 'tripline_collector_rule_errors_total',
    help: 'Rule evaluations that threw (the event was still learned), by rule',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      drain(ruleErrors, (rule, n) => this.inc({ rule }, n));
    },
  });
  new Counter({
    name: 'tripline_collector_analysis_dropped_total',
    help: 'Events or items analysis could not use, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      drain(drops, (reason, n) => this.inc({ reason }, n));
    },
  });
  new Counter({
    name: 'tripline_collector_profile_persist_failures_total',
    help: 'Profile flushes that failed (retried at the next flush)',
    registers: [registry],
    collect() {
      this.inc(persistFailures);
      persistFailures = 0;
    },
  });
  new Gauge({
    name: 'tripline_collector_profiles',
    help: 'Profiles by learning state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, n] of Object.entries(profiles.byState())) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'tripline_collector_profile_items',
    help: 'Items across all profiles',
    registers: [registry],
    collect() {
      this.set(profiles.items());
    },
  });
  const evaluationSeconds = new Histogram({
    name: 'tripline_collector_evaluation_duration_seconds',
    help: 'Time to analyse one event (enrich, profile, rules), sampled 1 in 256',
    buckets: [1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3],
    registers: [registry],
  });

  return {
    events,
    countFinding(rule, severity) {
      let bySeverity = findings.get(rule);
      if (bySeverity === undefined) findings.set(rule, (bySeverity = new Float64Array(SEVERITIES.length)));
      const i = SEVERITY_INDEX[severity];
      bySeverity[i] = bySeverity[i]! + 1;
    },
    countSilenced: (rule) => bump(silenced, rule),
    countRuleError: (rule) => bump(ruleErrors, rule),
    countDrop: (reason) => bump(drops, reason),
    countPersistFailure: () => void persistFailures++,
    evaluationSeconds,
  };
}
