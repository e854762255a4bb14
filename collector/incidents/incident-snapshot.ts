/**
 * The aggregation table on disk (`snapshot.json`): open incidents with their counts and
 * remembered revisions, plus the outbox seq it reflects. At start-up the snapshot is
 * loaded and every outbox record after that seq is applied on top, so revisions are never
 * lost; only quiet repeats counted since the last snapshot are.
 */
import { readJsonFile, writeJsonFile } from '../sinks/delivery/json-file.js';
import type { OpenIncident } from './incident-table.js';

export interface IncidentSnapshot {
  readonly version: 1;
  /** Outbox seq whose effects the snapshot includes. */
  readonly outboxSeq: number;
  readonly open: readonly OpenIncident[];
  readonly remembered: ReadonlyArray<[string, number]>;
}

/** Reads the snapshot; undefined when there is none. Throws when it is unreadable. */
export function readIncidentSnapshot(path: string): IncidentSnapshot | undefined {
  const raw = readJsonFile(path) as IncidentSnapshot | undefined;
  if (raw === undefined) return undefined;
  if (
    raw.version !== 1 ||
    !Array.isArray(raw.open) ||
    !Array.isArray(raw.remembered) ||
    typeof raw.outboxSeq !== 'number'
  ) {
    throw new Error(`${path} is not an incident snapshot (version 1)`);
  }
  // JSON has no -Infinity: "send the next occurrence" is written as null.
  const open = raw.open.map((e) => ({ ...e, lastSentMs: e.lastSentMs ?? -Infinity }));
  return { ...raw, open };
}

export function writeIncidentSnapshot(path: string, snapshot: IncidentSnapshot): Promise<void> {
  return writeJsonFile(path, snapshot);
}
