/** Decoded form of Profile (proto/tripline/v1/profile.proto): what stores persist and the API shows. */
import type { WorkloadRef } from './events.js';

export const ITEM_KINDS = ['exec', 'syscall', 'file', 'listen', 'egress'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

export type ItemOrigin = 'learned' | 'approved' | 'policy';
export type ProfileState = 'learning' | 'stable' | 'locked';

export interface ProfileItemSnapshot {
  readonly kind: ItemKind;
  /** Generalised key, e.g. "/usr/bin/curl", "openat", "/var/log/app/*.log", "tcp/8080", "default/Deployment/api:tcp/5432". */
  readonly key: string;
  /** Milliseconds since the Unix epoch. */
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly count: number;
  /** Distinct replicas (pods, or cgroups off Kubernetes) that showed it. */
  readonly replicas: number;
  readonly origin: ItemOrigin;
  /** Seen in one replica only while others never showed it: held for review. */
  readonly suspect: boolean;
  /** Image digest under which it was first seen ('' when unknown). */
  readonly imageDigest: string;
  /** Learned under a new image digest and awaiting review (the digest delta). */
  readonly pendingReview: boolean;
}

export interface ProfileSnapshot {
  readonly workload: WorkloadRef;
  /** workloadKey(workload). */
  readonly key: string;
  readonly state: ProfileState;
  /** Learned while the agent dropped events for this workload. */
  readonly partial: boolean;
  readonly learningStartedMs: number;
  readonly lastNovelMs: number;
  /** 0 while learning. */
  readonly stableSinceMs: number;
  readonly imageDigests: readonly string[];
  /** Distinct replicas seen while learning (bounded). */
  readonly replicaIds: readonly string[];
  readonly items: readonly ProfileItemSnapshot[];
  /** Increases on every change; stores use it to write only what changed. */
  readonly revision: number;
}
