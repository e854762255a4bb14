/**
 * The RuntimeBaseline resource (deploy/crds/runtimebaselines.yaml) and its mapping to
 * ProfileSnapshot. The spec holds what a person reviews and edits with kubectl — the
 * items and the state — in readable units (RFC 3339 times); the status holds learning
 * progress, which only the collector writes.
 */
import { createHash } from 'node:crypto';
import { workloadKey, type WorkloadRef } from '../../proto/events.js';
import {
  ITEM_KINDS,
  type ItemKind,
  type ItemOrigin,
  type ProfileItemSnapshot,
  type ProfileSnapshot,
  type ProfileState,
} from '../../proto/profile.js';

export const BASELINE_GROUP = 'tripline.io';
export const BASELINE_VERSION = 'v1alpha1';
export const BASELINE_PLURAL = 'runtimebaselines';
/** Carries the full workload key; names are shortened and hashed, keys are not. */
export const WORKLOAD_KEY_ANNOTATION = 'tripline.io/workload-key';

export interface BaselineItem {
  kind: string;
  key: string;
  origin?: string;
  firstSeen?: string;
  lastSeen?: string;
  count?: number;
  replicas?: number;
  suspect?: boolean;
  imageDigest?: string;
  pendingReview?: boolean;
}

export interface RuntimeBaseline {
  apiVersion: string;
  kind: 'RuntimeBaseline';
  // creationTimestamp arrives as an RFC 3339 string from custom-object calls despite the Date type.
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: Date;
    generation?: number;
  };
  spec: { workload: WorkloadRef; state: ProfileState; partial: boolean; imageDigests: string[]; items: BaselineItem[] };
  status?: {
    phase?: string;
    itemCount?: number;
    learningStartedAt?: string;
    lastNovelAt?: string;
    stableSince?: string;
    replicaIds?: string[];
    revision?: number;
    observedGeneration?: number;
  };
}

/**
 * A DNS-1123 label (≤ 63 characters) naming the workload container: readable kind, name
 * and container, cut to fit, plus a hash of the full key so distinct workloads never collide.
 */
export function baselineName(w: WorkloadRef): string {
  const hash = createHash('sha256').update(workloadKey(w)).digest('hex').slice(0, 10);
  const slug = `${w.kind}-${w.name}-${w.container}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63 - hash.length - 1)
    .replace(/-+$/, '');
  return slug ? `${slug}-${hash}` : `baseline-${hash}`;
}

/** Namespace a workload's baseline lives in: its own, or the collector's for host workloads. */
export function baselineNamespace(w: WorkloadRef, collectorNamespace: string): string {
  return w.namespace || collectorNamespace;
}

const iso = (ms: number): string | undefined => (ms > 0 ? new Date(ms).toISOString() : undefined);
const ms = (s: unknown): number => {
  const t = typeof s === 'string' ? Date.parse(s) : s instanceof Date ? s.getTime() : NaN;
  return Number.isFinite(t) ? t : 0;
};

export function itemId(i: { kind: string; key: string }): string {
  return `${i.kind}\u0000${i.key}`;
}

export function toBaselineSpec(p: ProfileSnapshot): RuntimeBaseline['spec'] {
  return {
    workload: { ...p.workload },
    state: p.state,
    partial: p.partial,
    imageDigests: [...p.imageDigests],
    items: p.items.map((i) => {
      const out: BaselineItem = { kind: i.kind, key: i.key, origin: i.origin, count: i.count, replicas: i.replicas };
      const first = iso(i.firstSeenMs);
      const last = iso(i.lastSeenMs);
      if (first) out.firstSeen = first;
      if (last) out.lastSeen = last;
      if (i.suspect) out.suspect = true;
      if (i.imageDigest) out.imageDigest = i.imageDigest;
      if (i.pendingReview) out.pendingReview = true;
      return out;
    }),
  };
}

export function toBaselineStatus(
  p: ProfileSnapshot,
  generation: number | undefined,
): NonNullable<RuntimeBaseline['status']> {
  const s: NonNullable<RuntimeBaseline['status']> = {
    phase: p.state,
    itemCount: p.items.length,
    replicaIds: [...p.replicaIds],
    revision: p.revision,
  };
  const started = iso(p.learningStartedMs);
  const novel = iso(p.lastNovelMs);
  const stable = iso(p.stableSinceMs);
  if (started) s.learningStartedAt = started;
  if (novel) s.lastNovelAt = novel;
  if (stable) s.stableSince = stable;
  if (generation !== undefined) s.observedGeneration = generation;
  return s;
}

export type DecodeResult =
  { readonly ok: true; readonly profile: ProfileSnapshot } | { readonly ok: false; readonly error: string };

const ORIGINS: readonly ItemOrigin[] = ['learned', 'approved', 'policy'];
const STATES: readonly ProfileState[] = ['learning', 'stable', 'locked'];

/**
 * Reads a stored (possibly hand-edited) RuntimeBaseline. An item a person added carries
 * at least kind and key; it defaults to origin "approved" and counts as seen now.
 */
export function fromBaseline(obj: RuntimeBaseline, nowMs: number): DecodeResult {
  const spec = obj.spec as Partial<RuntimeBaseline['spec']> | undefined;
  const w = spec?.workload;
  if (!w || typeof w !== 'object') return { ok: false, error: 'spec.workload is missing' };
  for (const f of ['cluster', 'namespace', 'kind', 'name', 'container'] as const) {
    if (typeof w[f] !== 'string') return { ok: false, error: `spec.workload.${f} must be a string` };
  }
  const workload: WorkloadRef = {
    cluster: w.cluster,
    namespace: w.namespace,
    kind: w.kind,
    name: w.name,
    container: w.container,
  };
  if (!STATES.includes(spec.state as ProfileState))
    return { ok: false, error: `spec.state must be one of ${STATES.join(', ')}` };
  const items: ProfileItemSnapshot[] = [];
  const seen = new Set<string>();
  for (const [n, raw] of (Array.isArray(spec.items) ? spec.items : []).entries()) {
    if (!ITEM_KINDS.includes(raw?.kind as ItemKind))
      return { ok: false, error: `spec.items[${n}].kind must be one of ${ITEM_KINDS.join(', ')}` };
    if (typeof raw.key !== 'string' || raw.key === '')
      return { ok: false, error: `spec.items[${n}].key must be a non-empty string` };
    if (seen.has(itemId(raw))) continue;
    seen.add(itemId(raw));
    const origin = ORIGINS.includes(raw.origin as ItemOrigin) ? (raw.origin as ItemOrigin) : 'approved';
    const first = ms(raw.firstSeen) || nowMs;
    items.push({
      kind: raw.kind as ItemKind,
      key: raw.key,
      firstSeenMs: first,
      lastSeenMs: ms(raw.lastSeen) || first,
      count: nonNegativeInt(raw.count),
      replicas: nonNegativeInt(raw.replicas),
      origin,
      suspect: raw.suspect === true,
      imageDigest: typeof raw.imageDigest === 'string' ? raw.imageDigest : '',
      pendingReview: raw.pendingReview === true,
    });
  }
  const status = obj.status ?? {};
  return {
    ok: true,
    profile: {
      workload,
      key: workloadKey(workload),
      state: spec.state as ProfileState,
      partial: spec.partial === true,
      learningStartedMs: ms(status.learningStartedAt) || ms(obj.metadata.creationTimestamp) || nowMs,
      lastNovelMs: ms(status.lastNovelAt),
      stableSinceMs: ms(status.stableSince),
      imageDigests: Array.isArray(spec.imageDigests)
        ? spec.imageDigests.filter((d): d is string => typeof d === 'string')
        : [],
      replicaIds: Array.isArray(status.replicaIds)
        ? status.replicaIds.filter((d): d is string => typeof d === 'string')
        : [],
      items,
      revision: nonNegativeInt(status.revision),
    },
  };
}

function nonNegativeInt(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

/** What this collector last wrote for a baseline: the base of a three-way merge. */
export interface WrittenBase {
  readonly items: ReadonlySet<string>;
  readonly state: string;
}

/**
 * Three-way merge after a write conflict. `base` is what this collector last wrote,
 * `theirs` the stored object (a person's edit), `ours` the learner's snapshot. Items a
 * person removed since `base` stay removed, items a person added are kept, and a
 * person's origin or state change wins; counts and times come from the learner.
 */
export function mergeSpecs(
  base: WrittenBase,
  theirs: RuntimeBaseline['spec'],
  ours: RuntimeBaseline['spec'],
): RuntimeBaseline['spec'] {
  const theirItems = new Map((Array.isArray(theirs.items) ? theirs.items : []).map((i) => [itemId(i), i]));
  const items: BaselineItem[] = [];
  const emitted = new Set<string>();
  for (const i of ours.items) {
    const id = itemId(i);
    const t = theirItems.get(id);
    if (!t && base.items.has(id)) continue; // a person removed it
    items.push(t?.origin && base.items.has(id) && t.origin !== i.origin ? { ...i, origin: t.origin } : i);
    emitted.add(id);
  }
  // Present there, absent here and not written by us: a person added it.
  for (const [id, t] of theirItems) if (!emitted.has(id) && !base.items.has(id)) items.push(t);
  const state = theirs.state !== base.state && STATES.includes(theirs.state) ? theirs.state : ours.state;
  return { ...ours, state, items };
}
