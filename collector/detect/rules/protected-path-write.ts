import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/**
 * A write, rename, unlink or chmod under a protected path (policy globs) that the profile
 * does not contain. Fires while learning too (at reduced score): tampering with /etc or a
 * service-account token is news even before the baseline is trusted.
 */
export function createProtectedPathWriteRule(): Rule {
  const rule: Rule = {
    id: 'protected-path-write',
    kinds: ['file'],
    defaultSeverity: 'high',
    mitreTechniques: ['T1222', 'T1543', 'T1098.004'],
    mitreTactics: ['persistence', 'defense-evasion'],
    novelty: false,
    evaluate(e, ctx) {
      const ev = e.event;
      if (ev.kind !== 'file' || ctx.origin !== undefined) return undefined;
      const target = ctx.isProtected(ev.path)
        ? ev.path
        : ev.oldPath !== '' && ctx.isProtected(ev.oldPath)
          ? ev.oldPath
          : '';
      if (target === '') return undefined;
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} did ${ev.op} on protected path ${target}`,
        context: ['protected-path'],
      });
    },
  };
  return rule;
}
