/**
 * The edits people make to a profile (API, CLI, console). Each returns whether it
 * changed anything and bumps the revision so the store writes the profile.
 */
import type { ItemKind } from '../../proto/profile.js';
import { ITEM_KINDS } from '../../proto/profile.js';
import { deleteItem, putItem, type Profile } from '../profiles/profile.js';

export type EditResult = 'ok' | 'no-such-item' | 'invalid-item';

export function approveItem(p: Profile, kind: ItemKind, key: string, nowMs: number): EditResult {
  if (!ITEM_KINDS.includes(kind) || key === '') return 'invalid-item';
  const existing = p.items[kind].get(key);
  if (existing) {
    existing.origin = 'approved';
    existing.suspect = false;
    existing.pendingReview = false;
  } else {
    putItem(p, {
      kind,
      key,
      firstSeenMs: nowMs,
      lastSeenMs: nowMs,
      count: 0,
      replicaMask: 0,
      origin: 'approved',
      suspect: false,
      imageDigest: '',
      pendingReview: false,
    });
  }
  p.revision++;
  return 'ok';
}

export function removeItem(p: Profile, kind: ItemKind, key: string): EditResult {
  if (!ITEM_KINDS.includes(kind)) return 'invalid-item';
  if (!deleteItem(p, kind, key)) return 'no-such-item';
  p.revision++;
  return 'ok';
}

/** Back to learning from scratch; what people approved and what policy allowed stays. */
export function relearnProfile(p: Profile, nowMs: number): void {
  for (const kind of ITEM_KINDS) {
    for (const item of [...p.items[kind].values()]) {
      if (item.origin === 'learned') deleteItem(p, kind, item.key);
      else item.replicaMask = 0;
    }
  }
  p.state = 'learning';
  p.partial = false;
  p.learningStartedMs = nowMs;
  p.lastNovelMs = nowMs;
  p.stableSinceMs = 0;
  p.lastDropMs = 0;
  p.replicaIds = [];
  p.rolloutDigest = '';
  p.revision++;
}

export function lockProfile(p: Profile, nowMs: number): void {
  if (p.state !== 'locked') {
    p.state = 'locked';
    if (p.stableSinceMs === 0) p.stableSinceMs = nowMs;
  }
  p.rolloutDigest = '';
  p.revision++;
}

export function acceptDelta(p: Profile): void {
  for (const kind of ITEM_KINDS) {
    for (const item of p.items[kind].values()) {
      item.pendingReview = false;
      item.suspect = false;
    }
  }
  p.revision++;
}
