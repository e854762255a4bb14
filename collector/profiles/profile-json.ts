/**
 * The JSON form of a profile on disk. Reading validates every field: a file edited by
 * hand or torn by a disk fault must be rejected whole, never half-loaded.
 */
import {
  ITEM_KINDS,
  type ItemKind,
  type ItemOrigin,
  type ProfileSnapshot,
  type ProfileState,
} from '../../proto/profile.js';
import { workloadKey, type WorkloadRef } from '../../proto/events.js';

export const PROFILE_JSON_VERSION = 1;

export function profileToJson(p: ProfileSnapshot): string {
  return JSON.stringify({ version: PROFILE_JSON_VERSION, profile: p });
}

export type ParseResult = { ok: true; profile: ProfileSnapshot } | { ok: false; error: string };

const STATES: readonly ProfileState[] = ['learning', 'stable', 'locked'];
const ORIGINS: readonly ItemOrigin[] = ['learned', 'approved', 'policy'];

export function profileFromJson(text: string): ParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  if (!isObj(doc) || doc.version !== PROFILE_JSON_VERSION || !isObj(doc.profile))
    return { ok: false, error: `not a version ${PROFILE_JSON_VERSION} profile document` };
  const p = doc.profile;
  const w = p.workload;
  if (!isObj(w) || !['cluster', 'namespace', 'kind', 'name', 'container'].every((f) => typeof w[f] === 'string'))
    return { ok: false, error: 'workload is malformed' };
  const workload = w as unknown as WorkloadRef;
  if (p.key !== workloadKey(workload)) return { ok: false, error: 'key does not match workload' };
  if (!STATES.includes(p.state as ProfileState)) return { ok: false, error: 'state is malformed' };
  for (const f of ['learningStartedMs', 'lastNovelMs', 'stableSinceMs', 'revision'])
    if (!isNum(p[f])) return { ok: false, error: `${f} is malformed` };
  if (typeof p.partial !== 'boolean') return { ok: false, error: 'partial is malformed' };
  if (!isStrings(p.imageDigests) || !isStrings(p.replicaIds))
    return { ok: false, error: 'imageDigests or replicaIds is malformed' };
  if (!Array.isArray(p.items)) return { ok: false, error: 'items is malformed' };
  for (const [n, i] of p.items.entries()) {
    const bad = itemProblem(i);
    if (bad) return { ok: false, error: `items[${n}].${bad} is malformed` };
  }
  return { ok: true, profile: p as unknown as ProfileSnapshot };
}

function itemProblem(i: unknown): string | undefined {
  if (!isObj(i)) return 'item';
  if (!ITEM_KINDS.includes(i.kind as ItemKind)) return 'kind';
  if (typeof i.key !== 'string' || i.key === '') return 'key';
  for (const f of ['firstSeenMs', 'lastSeenMs', 'count', 'replicas']) if (!isNum(i[f])) return f;
  if (!ORIGINS.includes(i.origin as ItemOrigin)) return 'origin';
  if (typeof i.suspect !== 'boolean') return 'suspect';
  if (typeof i.pendingReview !== 'boolean') return 'pendingReview';
  if (typeof i.imageDigest !== 'string') return 'imageDigest';
  return undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
