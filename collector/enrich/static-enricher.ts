/**
 * Enricher from static config: workload tiers from workload-key globs (else the policy
 * default), peers from the cluster directory, configured networks, loopback (the
 * workload itself) or the public internet. Runs once per event, so both lookups are
 * cached and the common case is two Map hits and one object.
 */
import type { TriplineEvent, WorkloadRef } from '../../proto/events.js';
import { workloadKey } from '../../proto/events.js';
import { compileGlob } from '../policy/glob.js';
import type { PolicySource, Tier } from '../policy/policy.js';
import { addressBytes, cidrContains, isLoopback } from './cidr.js';
import type { EnrichConfig } from './enrich-config.js';
import type { EnrichedEvent, Enricher, PeerIdentity } from './enriched-event.js';
import type { PeerDirectory } from './peer-directory.js';

export interface StaticEnricherOptions {
  readonly config: EnrichConfig;
  /** Supplies the default tier of workloads no rule matches. */
  readonly policies: PolicySource;
  /** In-cluster address owners; absent off Kubernetes. */
  readonly peers?: PeerDirectory;
}

interface WorkloadEntry {
  ref: WorkloadRef;
  containerId: string;
  key: string;
  tier: Tier;
}

// Bounds keep a scan of many addresses or churn of many cgroups from growing memory.
const MAX_WORKLOADS = 200_000;
const MAX_ADDRESSES = 100_000;

export function createStaticEnricher(opts: StaticEnricherOptions): Enricher {
  const { config, policies, peers } = opts;
  const tierRules = config.workloadTiers.map((r) => ({ matches: compileGlob(r.match), tier: r.tier }));
  // node → cgroup id → workload: avoids rebuilding the key string for every event.
  let byCgroup = new Map<string, Map<number, WorkloadEntry>>();
  let cachedWorkloads = 0;
  const external = new Map<string, PeerIdentity | null>();
  policies.onChange(() => {
    byCgroup = new Map();
    cachedWorkloads = 0;
  });

  function workloadEntry(event: TriplineEvent, w: WorkloadRef): WorkloadEntry {
    let perNode = byCgroup.get(event.node);
    if (!perNode) byCgroup.set(event.node, (perNode = new Map()));
    const e = perNode.get(event.container.cgroupId);
    // One container has one workload: an equal runtime container id settles it with one
    // string compare instead of five (decoded events never share string objects).
    const cid = event.container.containerId;
    if (e && (e.ref === w || (cid !== '' && cid === e.containerId) || sameRef(e.ref, w))) return e;
    const key = workloadKey(w);
    const fresh = { ref: w, key, tier: tierOf(w, key), containerId: cid };
    if (cachedWorkloads >= MAX_WORKLOADS) {
      byCgroup = new Map([[event.node, (perNode = new Map())]]);
      cachedWorkloads = 0;
    }
    if (!e) cachedWorkloads++;
    perNode.set(event.container.cgroupId, fresh);
    return fresh;
  }

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

  return {
    enrich(event: TriplineEvent): EnrichedEvent | undefined {
      const w = event.container.workload;
      if (!w) return undefined;
      const e = workloadEntry(event, w);
      let peer: PeerIdentity | undefined;
      if (event.kind === 'connect') {
        const inCluster = peers?.lookup(event.ip);
        if (inCluster) peer = { kind: 'workload', id: inCluster.workloadKey, tier: inCluster.tier };
        else peer = externalPeer(event.ip) ?? { kind: 'workload', id: e.key, tier: e.tier };
      }
      return { event, workloadKey: e.key, tier: e.tier, labels: undefined, peer };
    },
  };
}

function sameRef(a: WorkloadRef, b: WorkloadRef): boolean {
  return (
    a.name === b.name &&
    a.container === b.container &&
    a.namespace === b.namespace &&
    a.kind === b.kind &&
    a.cluster === b.cluster
  );
}
