import type { TriplineEvent } from '../../proto/events.js';
import type { Tier } from '../policy/policy.js';

/** Who an egress peer or listener client is, as the collector resolved it. */
export interface PeerIdentity {
  /** 'workload' for an in-cluster peer (pod or service IP), 'external' otherwise. */
  readonly kind: 'workload' | 'external';
  /**
   * Workload key for in-cluster peers. For external ones the (generalised) DNS name the
   * workload looked the address up by, else the CIDR from config, else the IP.
   */
  readonly id: string;
  readonly tier: Tier;
}

/**
 * A container's workload as detection sees it. It is the same for every event of the
 * container until the policies change, so the analyzer resolves it once per container.
 */
export interface WorkloadContext {
  /** workloadKey(event.container.workload). */
  readonly workloadKey: string;
  readonly tier: Tier;
  /** Pod labels when known (selectors of RuntimePolicy match on them). */
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** The workload as a peer of itself: what loopback traffic reaches. */
  readonly self: PeerIdentity;
}

/** An event with the context detection needs: its workload's tier and, for egress, the peer. */
export interface EnrichedEvent {
  readonly event: TriplineEvent;
  readonly workloadKey: string;
  readonly tier: Tier;
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Set for 'connect' events. */
  readonly peer: PeerIdentity | undefined;
}

/** Adds tiers and peer identities to decoded events. Neither method throws. */
export interface Enricher {
  /** The workload of an event's container; undefined when the agent could not resolve one. */
  workload(event: TriplineEvent): WorkloadContext | undefined;
  /**
   * Who an address is, seen from `from`: unknown addresses are 'external' with the tier
   * config gives them, named by `dnsName` when the agent saw the lookup ('' = none).
   */
  peer(ip: string, from: WorkloadContext, dnsName: string): PeerIdentity;
}
