import { tierRank } from '../../policy/policy.js';
import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/**
 * Traffic across sensitivity tiers: down (restricted data leaving for a lower tier or the
 * internet) or up (a lower tier reaching into a higher one). A policy rule, not a
 * novelty rule: a flow learned during learning is still a violation; an allowed flow in
 * policy or an approved profile item silences it. The score grows with the tier gap,
 * and leaving the cluster downwards adds more: from restricted to the internet is critical.
 */
export function createCrossSensitivityFlowRule(): Rule {
  const rule: Rule = {
    id: 'cross-sensitivity-flow',
    kinds: ['connect'],
    defaultSeverity: 'high',
    mitreTechniques: ['T1041', 'T1048', 'T1021'],
    mitreTactics: ['exfiltration', 'lateral-movement'],
    novelty: false,
    evaluate(e, ctx) {
      const peer = e.peer;
      if (!peer || peer.tier === e.tier) return undefined;
      if (ctx.origin === 'approved' || ctx.origin === 'policy') return undefined;
      if (ctx.flowAllowed(e)) return undefined;
      const gap = tierRank(e.tier) - tierRank(peer.tier);
      const down = gap > 0;
      const toInternet = down && peer.kind === 'external';
      return buildFinding(rule, e, ctx, {
        summary: down
          ? `${e.workloadKey} (${e.tier}) sent traffic to ${peer.id} (${peer.tier}${peer.kind === 'external' ? ', outside the cluster' : ''})`
          : `${e.workloadKey} (${e.tier}) reached into ${peer.id} (${peer.tier})`,
        // Base high (80) minus 10, plus 5 per tier of gap, plus 10 when leaving the cluster
        // (then the source tier's adjustment): restricted → internet is critical,
        // internal → internet and public → restricted are high.
        scoreDelta: -10 + 5 * Math.abs(gap) + (toInternet ? 10 : 0),
        context: [down ? 'flow:down' : 'flow:up', `peer-tier:${peer.tier}`, ...(toInternet ? ['peer:external'] : [])],
      });
    },
  };
  return rule;
}
