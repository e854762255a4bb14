import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/**
 * Exec of a file the container wrote after it started: the download-and-run step of most
 * intrusions. Fires in every phase, because a container that drops and runs binaries
 * while it is being learned must not teach the profile that this is normal; only an item
 * a person approved (or a policy allowed) silences it.
 */
export function createDroppedBinaryExecRule(): Rule {
  const rule: Rule = {
    id: 'dropped-binary-exec',
    kinds: ['exec'],
    defaultSeverity: 'critical',
    mitreTechniques: ['T1105', 'T1204'],
    mitreTactics: ['command-and-control', 'execution'],
    novelty: false,
    evaluate(e, ctx) {
      if (e.event.kind !== 'exec' || !e.event.writtenByContainer) return undefined;
      if (ctx.origin === 'approved' || ctx.origin === 'policy') return undefined;
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} executed ${e.event.process.exe}, a file the container itself wrote`,
      });
    },
  };
  return rule;
}
