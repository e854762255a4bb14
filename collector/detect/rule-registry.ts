import type { EventKind } from '../../proto/events.js';
import { EVENT_KINDS } from '../../proto/events.js';
import type { RuleId } from '../../proto/incident.js';
import type { Rule } from './rule.js';

/** Rules indexed by the event kinds they apply to. */
export interface RuleRegistry {
  /** Rules for one event kind, in registration order. */
  forKind(kind: EventKind): readonly Rule[];
  get(id: RuleId): Rule | undefined;
  readonly all: readonly Rule[];
}

/** Builds the index once at start-up; throws listing every duplicate id or bad kind. */
export function createRuleRegistry(rules: readonly Rule[]): RuleRegistry {
  const byId = new Map<RuleId, Rule>();
  const problems: string[] = [];
  const byKind = new Map<EventKind, Rule[]>(EVENT_KINDS.map((k) => [k, []]));
  for (const r of rules) {
    if (byId.has(r.id)) problems.push(`duplicate rule id "${r.id}"`);
    byId.set(r.id, r);
    for (const k of r.kinds) {
      const list = byKind.get(k);
      if (!list) problems.push(`rule "${r.id}" names unknown event kind "${k}"`);
      else list.push(r);
    }
  }
  if (problems.length) throw new Error(`invalid rule set: ${problems.join('; ')}`);
  const frozen = new Map([...byKind].map(([k, v]) => [k, Object.freeze(v)] as const));
  return {
    forKind: (kind) => frozen.get(kind) ?? [],
    get: (id) => byId.get(id),
    all: Object.freeze([...byId.values()]),
  };
}
