import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/** An executable the profile does not contain. */
export function createUnexpectedExecRule(): Rule {
  const rule: Rule = {
    id: 'unexpected-exec',
    kinds: ['exec'],
    defaultSeverity: 'high',
    mitreTechniques: ['T1059', 'T1204'],
    mitreTactics: ['execution'],
    novelty: true,
    evaluate(e, ctx) {
      if (ctx.origin !== undefined || ctx.phase === 'learning' || e.event.kind !== 'exec') return undefined;
      // A binary the container wrote itself is dropped-binary-exec's, at higher severity.
      if (e.event.writtenByContainer) return undefined;
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} executed ${e.event.process.exe}, which is not in its profile`,
      });
    },
  };
  return rule;
}
