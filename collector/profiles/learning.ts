/**
 * The learning state machine. A profile leaves 'learning' on stability, not a timer:
 * after `minDuration`, once nothing novel appeared for `stableFor` — and, if the agent
 * dropped events for the workload, once a whole `stableFor` window passed without drops.
 * `maxDuration` forces stability, except for partial profiles: a baseline learned blind
 * would turn the missed behaviour into alerts.
 */
import type { EventHeader } from '../../proto/events.js';
import type { ItemKind } from '../../proto/profile.js';
import type { LearningWindows } from '../policy/policy.js';
import { MAX_IMAGE_DIGESTS, popcount, putItem, replicaSlot, type Profile, type ProfileItem } from './profile.js';

/** Moves a learning profile to 'stable' when its windows allow; true when it changed. */
export function advanceLearning(p: Profile, w: LearningWindows, nowMs: number): boolean {
  if (p.state !== 'learning') return endRolloutIfDue(p, nowMs);
  const age = nowMs - p.learningStartedMs;
  if (age < w.minDurationMs) return false;
  const quiet = nowMs - p.lastNovelMs >= w.stableForMs;
  const clean = !p.partial || nowMs - p.lastDropMs >= w.stableForMs;
  if (quiet && clean) {
    // A full clean window observed after the drops: the gaps were filled.
    p.partial = false;
  } else if (age < w.maxDurationMs || p.partial) {
    return false;
  }
  p.state = 'stable';
  p.stableSinceMs = nowMs;
  markSuspects(p);
  p.revision++;
  return true;
}

/**
 * Poisoning resistance: with two or more replicas learning, an item only one of them
 * showed is kept but held for review instead of silently trusted.
 */
function markSuspects(p: Profile): void {
  if (p.replicaIds.length < 2) return;
  for (const map of Object.values(p.items)) {
    for (const item of map.values()) {
      if (item.origin === 'learned' && popcount(item.replicaMask) === 1) item.suspect = true;
    }
  }
}

function endRolloutIfDue(p: Profile, nowMs: number): boolean {
  if (p.rolloutDigest === '' || nowMs < p.rolloutUntilMs) return false;
  p.rolloutDigest = '';
  p.revision++;
  return true;
}

/** Records that the agent dropped events for this workload; only learning profiles become partial. */
export function noteDrops(p: Profile, nowMs: number): boolean {
  if (p.state !== 'learning') return false;
  p.lastDropMs = nowMs;
  if (p.partial) return false;
  p.partial = true;
  p.revision++;
  return true;
}

/**
 * Records an image digest. A digest the profile has not seen on a stable profile opens a
 * rollout window: new items under that digest are learned for review (pendingReview)
 * instead of alerting at full severity. The window lasts `minDuration` and stretches by
 * `stableFor` after each new item, up to `maxDuration`.
 */
export function noteImageDigest(p: Profile, digest: string, w: LearningWindows, nowMs: number): void {
  if (p.imageDigests.includes(digest)) return;
  // The first digest a profile ever sees is not an update: it was learned without one.
  const update = p.imageDigests.length > 0;
  p.imageDigests.push(digest);
  if (p.imageDigests.length > MAX_IMAGE_DIGESTS) p.imageDigests.shift();
  if (p.state === 'stable' && update) {
    p.rolloutDigest = digest;
    p.rolloutStartedMs = nowMs;
    p.rolloutUntilMs = nowMs + w.minDurationMs;
  }
  p.revision++;
}

/** True while new items under `digest` are learned for review. */
export function inRollout(p: Profile, digest: string, nowMs: number): boolean {
  return p.rolloutDigest !== '' && p.rolloutDigest === digest && nowMs < p.rolloutUntilMs;
}

/** Extends an open rollout window after a new item, bounded by maxDuration. */
export function extendRollout(p: Profile, w: LearningWindows, nowMs: number): void {
  p.rolloutUntilMs = Math.min(Math.max(p.rolloutUntilMs, nowMs + w.stableForMs), p.rolloutStartedMs + w.maxDurationMs);
}

/** Adds a newly observed item as learned. */
export function learnItem(
  p: Profile,
  kind: ItemKind,
  key: string,
  nowMs: number,
  replicaId: string,
  imageDigest: string,
  pendingReview: boolean,
): ProfileItem {
  const item: ProfileItem = {
    kind,
    key,
    firstSeenMs: nowMs,
    lastSeenMs: nowMs,
    count: 1,
    replicaMask: 1 << replicaSlot(p, replicaId),
    origin: 'learned',
    suspect: false,
    imageDigest,
    pendingReview,
  };
  putItem(p, item);
  p.lastNovelMs = nowMs;
  p.revision++;
  return item;
}

/** Counts one more observation of a known item; replicas are tracked only while it matters. */
export function touchItem(p: Profile, item: ProfileItem, nowMs: number, event: EventHeader): void {
  item.count++;
  item.lastSeenMs = nowMs;
  p.statsDirty = true;
  if (p.state === 'learning' || item.suspect) {
    const bit = 1 << replicaSlot(p, replicaIdOf(event));
    if ((item.replicaMask & bit) === 0) {
      item.replicaMask |= bit;
      // A second replica showing a suspect item clears the suspicion.
      if (item.suspect && popcount(item.replicaMask) > 1) item.suspect = false;
      p.revision++;
    }
  }
}

/** A replica is a pod; off Kubernetes, a cgroup on a node. */
export function replicaIdOf(e: EventHeader): string {
  return e.container.podUid !== '' ? e.container.podUid : `${e.node}/${e.container.cgroupId}`;
}
