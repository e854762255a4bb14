/**
 * The in-memory form of a profile. Items live in one Map per kind keyed by the generalised
 * key, so the detection hot path is a single Map lookup and two field updates; snapshots
 * (proto/profile.ts) are built only for persistence and the API.
 */
import type { WorkloadRef } from '../../proto/events.js';
import {
  ITEM_KINDS,
  type ItemKind,
  type ItemOrigin,
  type ProfileItemSnapshot,
  type ProfileSnapshot,
  type ProfileState,
} from '../../proto/profile.js';
import { isGlob } from '../policy/glob.js';

/** Replica slots per profile; items record replicas as a bitmask over these slots. */
export const MAX_REPLICA_SLOTS = 32;
/** Image digests remembered per profile (most recent last). */
export const MAX_IMAGE_DIGESTS = 16;

export interface ProfileItem {
  readonly kind: ItemKind;
  readonly key: string;
  firstSeenMs: number;
  lastSeenMs: number;
  count: number;
  /** Bit i set = replica slot i showed the item. */
  replicaMask: number;
  origin: ItemOrigin;
  suspect: boolean;
  imageDigest: string;
  pendingReview: boolean;
}

export interface Profile {
  readonly workload: WorkloadRef;
  readonly key: string;
  state: ProfileState;
  partial: boolean;
  learningStartedMs: number;
  lastNovelMs: number;
  stableSinceMs: number;
  /** Last time an agent reported drops for this workload; 0 = never (not persisted). */
  lastDropMs: number;
  imageDigests: string[];
  /** Digest whose new items are being learned for review after a rollout; '' = none. */
  rolloutDigest: string;
  rolloutStartedMs: number;
  rolloutUntilMs: number;
  replicaIds: string[];
  readonly items: Record<ItemKind, Map<string, ProfileItem>>;
  /** Keys containing glob syntax (approved patterns), tried only when the exact lookup misses. */
  readonly globKeys: Record<ItemKind, string[]>;
  revision: number;
  /** Counts and last-seen times changed since the last save. */
  statsDirty: boolean;
}

export function createProfile(workload: WorkloadRef, key: string, nowMs: number): Profile {
  return {
    workload,
    key,
    state: 'learning',
    partial: false,
    learningStartedMs: nowMs,
    lastNovelMs: nowMs,
    stableSinceMs: 0,
    lastDropMs: 0,
    imageDigests: [],
    rolloutDigest: '',
    rolloutStartedMs: 0,
    rolloutUntilMs: 0,
    replicaIds: [],
    items: emptyKinds(() => new Map<string, ProfileItem>()),
    globKeys: emptyKinds(() => [] as string[]),
    revision: 1,
    statsDirty: false,
  };
}

function emptyKinds<T>(make: () => T): Record<ItemKind, T> {
  return { exec: make(), syscall: make(), file: make(), listen: make(), egress: make() };
}

/** Adds or replaces an item, keeping the glob index in step. */
export function putItem(p: Profile, item: ProfileItem): void {
  const map = p.items[item.kind];
  if (!map.has(item.key) && isGlob(item.key)) p.globKeys[item.kind].push(item.key);
  map.set(item.key, item);
}

export function deleteItem(p: Profile, kind: ItemKind, key: string): boolean {
  if (!p.items[kind].delete(key)) return false;
  const globs = p.globKeys[kind];
  const i = globs.indexOf(key);
  if (i >= 0) globs.splice(i, 1);
  return true;
}

export function itemCount(p: Profile): number {
  let n = 0;
  for (const k of ITEM_KINDS) n += p.items[k].size;
  return n;
}

/** Slot of a replica id, registering it while slots are free; overflow replicas share slots by hash. */
export function replicaSlot(p: Profile, replicaId: string): number {
  const i = p.replicaIds.indexOf(replicaId);
  if (i >= 0) return i;
  if (p.replicaIds.length < MAX_REPLICA_SLOTS) {
    p.replicaIds.push(replicaId);
    return p.replicaIds.length - 1;
  }
  let h = 0;
  for (let j = 0; j < replicaId.length; j++) h = (h * 31 + replicaId.charCodeAt(j)) | 0;
  return (h >>> 0) % MAX_REPLICA_SLOTS;
}

export function popcount(mask: number): number {
  let m = mask >>> 0;
  let n = 0;
  while (m) {
    m &= m - 1;
    n++;
  }
  return n;
}

export function itemSnapshot(i: ProfileItem): ProfileItemSnapshot {
  return {
    kind: i.kind,
    key: i.key,
    firstSeenMs: i.firstSeenMs,
    lastSeenMs: i.lastSeenMs,
    count: i.count,
    replicas: popcount(i.replicaMask),
    origin: i.origin,
    suspect: i.suspect,
    imageDigest: i.imageDigest,
    pendingReview: i.pendingReview,
  };
}

export function toSnapshot(p: Profile): ProfileSnapshot {
  const items: ProfileItemSnapshot[] = [];
  for (const k of ITEM_KINDS) for (const i of p.items[k].values()) items.push(itemSnapshot(i));
  return {
    workload: p.workload,
    key: p.key,
    state: p.state,
    partial: p.partial,
    learningStartedMs: p.learningStartedMs,
    lastNovelMs: p.lastNovelMs,
    stableSinceMs: p.stableSinceMs,
    imageDigests: [...p.imageDigests],
    replicaIds: [...p.replicaIds],
    items,
    revision: p.revision,
  };
}

/**
 * Rebuilds a profile from a snapshot. Replica masks are not persisted, only counts: the
 * first `replicas` slots are set so counts survive a restart.
 */
export function fromSnapshot(s: ProfileSnapshot, nowMs: number): Profile {
  const p = createProfile(s.workload, s.key, s.learningStartedMs);
  p.state = s.state;
  p.partial = s.partial;
  p.lastNovelMs = s.lastNovelMs;
  p.stableSinceMs = s.stableSinceMs;
  // When drops happened is not persisted; a partial profile restarts its clean window.
  p.lastDropMs = s.partial ? nowMs : 0;
  p.imageDigests = s.imageDigests.slice(-MAX_IMAGE_DIGESTS);
  p.replicaIds = s.replicaIds.slice(0, MAX_REPLICA_SLOTS);
  p.revision = s.revision;
  for (const i of s.items) {
    const n = Math.min(Math.max(i.replicas, 0), MAX_REPLICA_SLOTS);
    putItem(p, {
      kind: i.kind,
      key: i.key,
      firstSeenMs: i.firstSeenMs,
      lastSeenMs: i.lastSeenMs,
      count: i.count,
      replicaMask: n === 32 ? -1 : (1 << n) - 1,
      origin: i.origin,
      suspect: i.suspect,
      imageDigest: i.imageDigest,
      pendingReview: i.pendingReview,
    });
  }
  return p;
}
