import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/** A write to a path pattern the profile does not contain (protected paths are protected-path-write's). */
export function createUnexpectedFileWriteRule(): Rule {
  const rule: Rule = {
    id: 'unexpected-file-write',
    kinds: ['file'],
    defaultSeverity: 'low',
    mitreTechniques: ['T1565.001', 'T1105'],
    mitreTactics: ['impact'],
    novelty: true,
    evaluate(e, ctx) {
      const ev = e.event;
      if (ev.kind !== 'file' || ctx.origin !== undefined || ctx.phase === 'learning') return undefined;
      if (ctx.isProtected(ev.path) || (ev.oldPath !== '' && ctx.isProtected(ev.oldPath))) return undefined;
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} did ${ev.op} on ${ev.path}, which is not in its profile`,
      });
    },
  };
  return rule;
}
