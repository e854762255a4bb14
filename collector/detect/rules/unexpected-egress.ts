import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/** A connection to a peer the profile does not contain; a peer outside the cluster scores higher. */
export function createUnexpectedEgressRule(): Rule {
  const rule: Rule = {
    id: 'unexpected-egress',
    kinds: ['connect'],
    defaultSeverity: 'medium',
    mitreTechniques: ['T1071', 'T1041'],
    mitreTactics: ['command-and-control', 'exfiltration'],
    novelty: true,
    evaluate(e, ctx) {
      const ev = e.event;
      if (ev.kind !== 'connect' || ctx.origin !== undefined || ctx.phase === 'learning') return undefined;
      const external = e.peer?.kind === 'external';
      const peer = e.peer?.id ?? ev.ip;
      // A peer named by workload or DNS name also shows the address it was reached at.
      const at = peer === ev.ip ? '' : ` at ${ev.ip}`;
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} connected to ${peer}${at} (${ev.protocol}/${ev.port}), which is not in its profile`,
        ...(external ? { scoreDelta: 10, context: ['peer:external'] } : {}),
      });
    },
  };
  return rule;
}
