/**
 * Compiled views of an EffectivePolicy for the rules: protected-path and exception globs,
 * allowed flows. Policy objects are immutable and shared per workload, so each is
 * compiled once and kept alongside the policy in a WeakMap.
 */
import type { RuleId } from '../../proto/incident.js';
import { addressBytes, cidrContains, parseCidr, type Cidr } from '../enrich/cidr.js';
import type { EnrichedEvent } from '../enrich/enriched-event.js';
import { compileGlob, type GlobMatcher } from '../policy/glob.js';
import type { EffectivePolicy, Tier } from '../policy/policy.js';

export interface PolicyMatchers {
  isProtected(path: string): boolean;
  /** True when an unexpired exception silences `rule` for this workload and item. */
  isExcepted(rule: RuleId, workloadKey: string, itemKey: string, nowMs: number): boolean;
  flowAllowed(e: EnrichedEvent): boolean;
}

interface CompiledFlow {
  from: GlobMatcher;
  tier: Tier | undefined;
  cidr: Cidr | undefined;
  to: GlobMatcher;
}

const cache = new WeakMap<EffectivePolicy, PolicyMatchers>();

export function matchersFor(policy: EffectivePolicy): PolicyMatchers {
  let m = cache.get(policy);
  if (!m) cache.set(policy, (m = compile(policy)));
  return m;
}

function compile(policy: EffectivePolicy): PolicyMatchers {
  const protectedGlobs = policy.protectedPaths.map(compileGlob);
  const exceptions = policy.exceptions.map((x) => ({
    ...x,
    workloadGlob: compileGlob(x.workload),
    keyGlob: compileGlob(x.key),
  }));
  const flows: CompiledFlow[] = policy.allowedFlows.map((f) => ({
    from: compileGlob(f.from),
    tier: f.to.startsWith('tier:') ? (f.to.slice(5) as Tier) : undefined,
    cidr: f.to.includes('/') && !f.to.includes('*') ? parseCidr(f.to) : undefined,
    to: compileGlob(f.to),
  }));
  return {
    isProtected(path) {
      for (const g of protectedGlobs) if (g(path)) return true;
      return false;
    },
    isExcepted(rule, workloadKey, itemKey, nowMs) {
      for (const x of exceptions) {
        if (x.rule !== '*' && x.rule !== rule) continue;
        if (x.expiresMs !== undefined && nowMs >= x.expiresMs) continue;
        if (x.workloadGlob(workloadKey) && x.keyGlob(itemKey)) return true;
      }
      return false;
    },
    flowAllowed(e) {
      const peer = e.peer;
      if (!peer || flows.length === 0) return false;
      const ip = e.event.kind === 'connect' ? e.event.ip : '';
      for (const f of flows) {
        if (!f.from(e.workloadKey)) continue;
        if (f.tier !== undefined) {
          if (f.tier === peer.tier) return true;
        } else if (f.cidr) {
          if (ip !== '' && cidrContains(f.cidr, addressBytes(ip))) return true;
        } else if (f.to(peer.id)) {
          return true;
        }
      }
      return false;
    },
  };
}
