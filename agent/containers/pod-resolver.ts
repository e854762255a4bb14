import type { WorkloadRef } from '../../proto/events.js';

/** What the node's pod cache knows about one container. */
export interface PodInfo {
  /** Owner workload (ReplicaSet → Deployment, StatefulSet, DaemonSet, Job → CronJob, or the Pod), with the container name. */
  readonly workload: WorkloadRef;
  /** Image reference as the pod spec names it. */
  readonly image: string;
  /** Image digest ("sha256:…") from the container status; empty until the kubelet reports it. */
  readonly imageDigest: string;
  /** The container runs privileged or shares a host namespace (network, pid, ipc). */
  readonly privileged: boolean;
  /** Pod labels (the collector reads tripline.io/sensitivity from them). */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Maps a container seen in a cgroup to its pod and owner workload. Implemented from a
 * node-local pod informer (spec.nodeName = this node); the container resolver asks it
 * for every Kubernetes container it finds and keeps a provisional identity until it answers.
 */
export interface PodResolver {
  /**
   * Looks the container up in the local cache; never blocks, never throws. `containerId`
   * is the runtime id without its scheme (64 hex); `podUid` is the pod UID with dashes.
   * Undefined when the pod (or that container's status) is not known yet.
   */
  lookup(containerId: string, podUid: string): PodInfo | undefined;
  /**
   * Optional: resolves as soon as the pod is known, or after `timeoutMs` with whatever
   * is known then (undefined if nothing). Lets the agent hold a new container's first
   * events briefly instead of sending them under a provisional identity. Never rejects.
   */
  waitFor?(containerId: string, podUid: string, timeoutMs: number): Promise<PodInfo | undefined>;
}
