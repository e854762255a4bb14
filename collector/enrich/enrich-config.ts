/**
 * The `enrich` section of the collector config: which tier a workload is in when no
 * label says so, and which tier an address outside the cluster belongs to.
 */
import type { Problems } from '../../lib/config-problems.js';
import { TIERS, type Tier } from '../policy/policy.js';
import { asObject, checkKeys } from '../policy/policy-config.js';
import { parseCidr, type Cidr } from './cidr.js';

export interface WorkloadTierRule {
  /** Workload key glob; the first matching rule wins. */
  readonly match: string;
  readonly tier: Tier;
}

export interface NetworkTier {
  readonly cidr: Cidr;
  readonly tier: Tier;
}

export interface EnrichConfig {
  readonly workloadTiers: readonly WorkloadTierRule[];
  /** Sorted longest prefix first, so the first containing network is the most specific. */
  readonly networks: readonly NetworkTier[];
}

/**
 * Reads `raw` at `path`. `networks` is either a mapping `{ "127.0.0.99/32": public }` or a
 * list of `{ cidr, tier }`; `workloadTiers` a list of `{ match, tier }`.
 */
export function parseEnrichConfig(raw: unknown, problems: Problems, path = 'enrich'): EnrichConfig {
  const o = asObject(raw ?? {}, path, problems);
  checkKeys(o, path, problems, ['workloadTiers', 'networks']);
  const workloadTiers: WorkloadTierRule[] = [];
  const rawTiers = o.workloadTiers ?? [];
  if (!Array.isArray(rawTiers)) problems.add(`${path}.workloadTiers`, 'must be a list of {match, tier}');
  else
    rawTiers.forEach((r, i) => {
      const p = `${path}.workloadTiers[${i}]`;
      const ro = asObject(r, p, problems);
      checkKeys(ro, p, problems, ['match', 'tier']);
      if (typeof ro.match !== 'string' || ro.match === '') problems.add(`${p}.match`, 'must be a workload key glob');
      if (!TIERS.includes(ro.tier as Tier)) problems.add(`${p}.tier`, `must be one of ${TIERS.join(', ')}`);
      else if (typeof ro.match === 'string')
        workloadTiers.push(Object.freeze({ match: ro.match, tier: ro.tier as Tier }));
    });

  const entries: [string, unknown, string][] = [];
  const rawNets = o.networks ?? {};
  if (Array.isArray(rawNets)) {
    rawNets.forEach((n, i) => {
      const p = `${path}.networks[${i}]`;
      const no = asObject(n, p, problems);
      checkKeys(no, p, problems, ['cidr', 'tier']);
      entries.push([String(no.cidr ?? ''), no.tier, p]);
    });
  } else {
    for (const [cidr, t] of Object.entries(asObject(rawNets, `${path}.networks`, problems)))
      entries.push([cidr, t, `${path}.networks["${cidr}"]`]);
  }
  const networks: NetworkTier[] = [];
  for (const [text, t, p] of entries) {
    const cidr = parseCidr(text);
    if (!cidr) problems.add(p, `"${text}" is not a CIDR like 203.0.113.0/24 or 2001:db8::/32`);
    if (!TIERS.includes(t as Tier)) problems.add(p, `tier must be one of ${TIERS.join(', ')}`);
    if (cidr && TIERS.includes(t as Tier)) networks.push(Object.freeze({ cidr, tier: t as Tier }));
  }
  networks.sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  return Object.freeze({ workloadTiers: Object.freeze(workloadTiers), networks: Object.freeze(networks) });
}
