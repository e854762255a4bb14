/**
 * Severity from context. A rule's default severity sets a base score; the workload's
 * tier, a privileged container, the phase of its profile and rule-specific signals move
 * it; severityForScore maps the result back to a band. A policy override is final.
 */
import type { RuleId, Severity } from '../../proto/incident.js';
import { severityForScore } from '../../proto/incident.js';
import type { EnrichedEvent } from '../enrich/enriched-event.js';
import type { Finding } from '../incidents/finding.js';
import type { Rule, RuleContext } from './rule.js';

/** Base score of each severity: the middle of its band. */
export const BASE_SCORE: Readonly<Record<Severity, number>> = { info: 10, low: 30, medium: 55, high: 80, critical: 95 };

const TIER_ADJUST = { public: -5, internal: 0, confidential: 5, restricted: 10 } as const;
/** Policy rules still fire while learning, at this reduction: the baseline is not trusted yet. */
export const LEARNING_PENALTY = 20;
/** Novel items under a new image digest are capped into the info/low bands. */
export const IMAGE_UPDATE_MAX_SCORE = 35;

export interface FindingDetails {
  readonly summary: string;
  /** Rule-specific score change, e.g. +30 for a dangerous syscall. */
  readonly scoreDelta?: number;
  /** Rule-specific context labels, e.g. "dangerous-syscall". */
  readonly context?: readonly string[];
}

export function buildFinding(rule: Rule, e: EnrichedEvent, ctx: RuleContext, d: FindingDetails): Finding {
  const context: string[] = [`tier:${e.tier}`];
  let score = BASE_SCORE[rule.defaultSeverity] + (d.scoreDelta ?? 0) + TIER_ADJUST[e.tier];
  if (d.context) context.push(...d.context);
  if (e.event.container.privileged) {
    score += 10;
    context.push('privileged');
  }
  if (ctx.phase === 'learning') {
    score -= LEARNING_PENALTY;
    context.push('learning');
  } else if (ctx.phase === 'image-update' && rule.novelty) {
    score = Math.min(score - 40, IMAGE_UPDATE_MAX_SCORE);
    context.push('image-update');
  }
  score = Math.max(0, Math.min(100, Math.round(score)));
  let severity = severityForScore(score);
  const override = ctx.policy.severityOverrides[rule.id as RuleId];
  if (override && !(ctx.phase === 'image-update' && rule.novelty)) {
    severity = override;
    score = BASE_SCORE[override];
    context.push('severity-override');
  }
  const w = e.event.container.workload!;
  return {
    rule: rule.id,
    severity,
    score,
    workload: w,
    workloadKey: e.workloadKey,
    key: ctx.itemKey,
    summary: d.summary,
    mitreTechniques: rule.mitreTechniques,
    mitreTactics: rule.mitreTactics,
    context,
    event: e.event,
  };
}
