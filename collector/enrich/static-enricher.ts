/**
 * Enricher from static config: workload tiers from workload-key globs (else the policy
 * default), peers from the cluster directory, configured networks, loopback (the
 * workload itself) or the public internet. The analyzer asks for a container's workload
 * once; peers are asked per connect event, so external addresses are cached.
 */
import type { WorkloadRef } from '../../proto/events.js';
import { workloadKey } from '../../proto/events.js';
import { compileGlob } from '../policy/glob.js';
import { generaliseDnsName } from '../profiles/dns-name.js';
import type { PolicySource, Tier } from '../policy/policy.js';
import { addressBytes, cidrContains, isLoopback } from './cidr.js';
import type { EnrichConfig } from './enrich-config.js';
import type { Enricher, PeerIdentity, WorkloadContext } from './enriched-event.js';
import type { PeerDirectory } from './peer-directory.js';

export interface StaticEnricherOptions {
  readonly config: EnrichConfig;
  /** Supplies the default tier of workloads no rule matches. */
  readonly policies: PolicySource;
  /** In-cluster address owners; absent off Kubernetes. */
  readonly peers?: PeerDirectory;
}

// Bounds each cache so a scan of many addresses or names cannot grow memory.
const MAX_ADDRESSES = 100_000;

export function createStaticEnricher(opts: StaticEnricherOptions): Enricher {
  const { config, policies, peers } = opts;
  const tierRules = config.workloadTiers.map((r) => ({ matches: compileGlob(r.match), tier: r.tier }));
  const external = new Map<string, PeerIdentity | null>();
  // By tier, then name as the agent reported it.
  const named = new Map<Tier, Map<string, PeerIdentity>>();

  function tierOf(w: WorkloadRef, key: string): Tier {
    for (const r of tierRules) if (r.matches(key)) return r.tier;
    return policies.policyFor(w).defaultTier;
  }

  /** Identity of a non-cluster address; null when it is loopback (the workload itself). */
  function externalPeer(ip: string): PeerIdentity | null {
    let p = external.get(ip);
    if (p !== undefined) return p;
    const addr = addressBytes(ip);
    p = null;
    for (const n of config.networks) {
      if (cidrContains(n.cidr, addr)) {
        p = Object.freeze({ kind: 'external', id: n.cidr.text, tier: n.tier });
        break;
      }
    }
    if (!p && !isLoopback(addr)) p = Object.freeze({ kind: 'external', id: ip, tier: 'public' });
    if (external.size >= MAX_ADDRESSES) external.clear();
    external.set(ip, p);
    return p;
  }

  /**
   * An external peer by the name the workload asked for: a service's addresses rotate
   * (CDNs, cloud APIs), its name does not. The tier stays the address's: a name is only a
   * label, and config places networks, not names.
   */
  function namedPeer(dnsName: string, tier: Tier): PeerIdentity {
    let byName = named.get(tier);
    if (!byName) named.set(tier, (byName = new Map()));
    let p = byName.get(dnsName);
    if (p === undefined) {
      if (byName.size >= MAX_ADDRESSES) byName.clear();
      p = Object.freeze({ kind: 'external', id: generaliseDnsName(dnsName), tier });
      byName.set(dnsName, p);
    }
    return p;
  }

  return {
    workload(event): WorkloadContext | undefined {
      const w = event.container.workload;
      if (!w) return undefined;
      const key = workloadKey(w);
      const tier = tierOf(w, key);
      return { workloadKey: key, tier, labels: undefined, self: Object.freeze({ kind: 'workload', id: key, tier }) };
    },
    peer(ip, from, dnsName) {
      const inCluster = peers?.lookup(ip);
      if (inCluster) return { kind: 'workload', id: inCluster.workloadKey, tier: inCluster.tier };
      const byAddress = externalPeer(ip);
      if (byAddress === null) return from.self;
      return dnsName === '' ? byAddress : namedPeer(dnsName, byAddress.tier);
    },
  };
}
