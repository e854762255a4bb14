import type { TriplineEvent } from '../../proto/events.js';
import type { Tier } from '../policy/policy.js';

/** Who an egress peer or listener client is, as the collector resolved it. */
export interface PeerIdentity {
  /** 'workload' for an in-cluster peer (pod or service IP), 'external' otherwise. */
  readonly kind: 'workload' | 'external';
  /** Workload key for in-cluster peers; the CIDR from config or the IP for external ones. */
  readonly id: string;
  readonly tier: Tier;
}

/** An event with the context detection needs: its workload's tier and, for egress, the peer. */
export interface EnrichedEvent {
  readonly event: TriplineEvent;
  /** workloadKey(event.container.workload); events without a workload are not enriched. */
  readonly workloadKey: string;
  readonly tier: Tier;
  /** Pod labels when known (selectors of RuntimePolicy match on them). */
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Set for 'connect' events. */
  readonly peer: PeerIdentity | undefined;
}

/** Adds tiers and peer identities to decoded events. */
export interface Enricher {
  /** Never throws; unknown peers are 'external' with the tier config gives their address. */
  enrich(event: TriplineEvent): EnrichedEvent | undefined;
}
