import type { WorkloadRef } from '../../proto/events.js';

/** The identity of the cgroup an observation came from. */
export interface ResolvedContainer {
  /** Path below the cgroup v2 root ("/" for the root); empty when the cgroup is gone. */
  readonly cgroupPath: string;
  /** Runtime container id (64 hex); empty off-container. */
  readonly containerId: string;
  /** Pod UID; empty off Kubernetes. */
  readonly podUid: string;
  /**
   * The profile unit. Off Kubernetes: kind "cgroup", name = the cgroup path. For a
   * Kubernetes container whose pod is not known yet: kind "Pod", name = pod UID,
   * container = the short container id (see `provisional`).
   */
  readonly workload: WorkloadRef;
  readonly image: string;
  readonly imageDigest: string;
  readonly privileged: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** A Kubernetes container whose pod the PodResolver has not supplied (yet). */
  readonly provisional: boolean;
}

/** Turns a sensor's cgroup id into a container and workload identity. */
export interface ContainerResolver {
  /** Identity for a cgroup id, from the cache when possible; never throws. */
  resolve(cgroupId: number): ResolvedContainer;
  /**
   * For a provisional resolution whose pod may soon be known: resolves with the
   * identity once known or after `timeoutMs`. Undefined when there is nothing to wait for.
   */
  settle(cgroupId: number, timeoutMs: number): Promise<ResolvedContainer> | undefined;
  /** Stops the periodic sweep; safe to call twice. */
  close(): void;
}
