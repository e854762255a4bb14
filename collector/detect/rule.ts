import type { EventKind } from '../../proto/events.js';
import type { RuleId, Severity } from '../../proto/incident.js';
import type { ItemKind, ItemOrigin } from '../../proto/profile.js';
import type { EnrichedEvent } from '../enrich/enriched-event.js';
import type { Finding } from '../incidents/finding.js';
import type { EffectivePolicy } from '../policy/policy.js';

/**
 * How the profile treats a novel item right now: 'learning' learns it silently,
 * 'image-update' learns it for review after a new image digest (findings at reduced
 * severity), 'stable' (also locked profiles) leaves it out and lets rules alert.
 */
export type Phase = 'learning' | 'stable' | 'image-update';

/** What a rule knows besides the event: one profile item and the policy in force. */
export interface RuleContext {
  /** Section of the profile the decision is about. */
  readonly itemKind: ItemKind;
  /** Generalised item key; becomes the Finding key. */
  readonly itemKey: string;
  /** Origin of the matching profile item; undefined when the item is novel. */
  readonly origin: ItemOrigin | undefined;
  readonly phase: Phase;
  readonly policy: EffectivePolicy;
  /** True when `path` lies under one of the policy's protected path globs. */
  isProtected(path: string): boolean;
  /** True when a policy allowed flow covers this workload reaching the event's peer. */
  flowAllowed(event: EnrichedEvent): boolean;
}

/**
 * One detection. Rules are pure decisions: the analyzer owns learning, mode gating,
 * exceptions and delivery, and calls `evaluate` once per profile item an event carries
 * (a syscall-set event carries several).
 */
export interface Rule {
  readonly id: RuleId;
  /** Event kinds the rule is indexed under; it is never called for others. */
  readonly kinds: readonly EventKind[];
  readonly defaultSeverity: Severity;
  /** MITRE ATT&CK technique ids, e.g. "T1059". */
  readonly mitreTechniques: readonly string[];
  /** MITRE ATT&CK tactic names, e.g. "execution". */
  readonly mitreTactics: readonly string[];
  /**
   * True for rules about items missing from the profile: they stay silent while learning
   * and are reduced to info/low during an image update. False for policy rules (protected
   * paths, dropped binaries, tier flows) that fire in every phase.
   */
  readonly novelty: boolean;
  /** The finding this event raises, or undefined. Never throws. */
  evaluate(event: EnrichedEvent, ctx: RuleContext): Finding | undefined;
}
