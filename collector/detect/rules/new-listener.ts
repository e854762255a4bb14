import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/** A listening socket on a port the profile does not contain: a bind shell or a backdoor service. */
export function createNewListenerRule(): Rule {
  const rule: Rule = {
    id: 'new-listener',
    kinds: ['listen'],
    defaultSeverity: 'high',
    mitreTechniques: ['T1571', 'T1205'],
    mitreTactics: ['command-and-control', 'persistence'],
    novelty: true,
    evaluate(e, ctx) {
      const ev = e.event;
      if (ev.kind !== 'listen' || ctx.origin !== undefined || ctx.phase === 'learning') return undefined;
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} listens on ${ev.protocol} ${ev.ip} port ${ev.port}, which is not in its profile`,
      });
    },
  };
  return rule;
}
