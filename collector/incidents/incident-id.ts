import { createHash } from 'node:crypto';

/** Ids remembered; the whole memo is dropped when it fills. */
const MEMO_SIZE = 65_536;
let memo = new Map<string, Map<string, Map<string, string>>>();
let memoized = 0;

/**
 * The stable id of an incident: the first 24 hex digits (96 bits) of
 * sha256(workloadKey NUL rule NUL key). The same signature always gets the same id, on
 * every replica and across restarts; NUL cannot occur in any of the three parts.
 *
 * Memoised, because every finding needs its id and most findings repeat an open incident:
 * a SHA-256 costs about 1.7 µs here. The memo is nested rather than keyed by the joined
 * signature, because the three parts are long-lived strings whose hashes V8 has already
 * cached, while a joined string would be new and hashed afresh on every lookup.
 */
export function incidentId(workloadKey: string, rule: string, key: string): string {
  let byRule = memo.get(workloadKey);
  if (byRule === undefined) memo.set(workloadKey, (byRule = new Map()));
  let byKey = byRule.get(rule);
  if (byKey === undefined) byRule.set(rule, (byKey = new Map()));
  let id = byKey.get(key);
  if (id === undefined) {
    id = createHash('sha256').update(`${workloadKey}\0${rule}\0${key}`).digest('hex').slice(0, 24);
    if (++memoized > MEMO_SIZE) {
      memo = new Map([[workloadKey, (byRule = new Map([[rule, (byKey = new Map())]]))]]);
      memoized = 1;
    }
    byKey.set(key, id);
  }
  return id;
}
