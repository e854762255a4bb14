import type { Tier } from '../policy/policy.js';

/** An in-cluster address owner. */
export interface PeerWorkload {
  /** Workload key of the pod or service behind the address. */
  readonly workloadKey: string;
  /** Its sensitivity tier (pod label, else namespace label, else policy default). */
  readonly tier: Tier;
}

/**
 * Maps cluster addresses (pod and service IPs) to the workloads behind them; the
 * Kubernetes integration keeps it current from pod and service informers.
 */
export interface PeerDirectory {
  /** The workload owning `ip` right now, or undefined when the address is not in the cluster. Never throws; must be a cheap in-memory lookup. */
  lookup(ip: string): PeerWorkload | undefined;
}
