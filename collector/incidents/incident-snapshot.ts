/**
 * The aggregation table on disk (`snapshot.json`): open incidents with their counts and
 * remembered revisions, plus the outbox seq it reflects. At start-up the snapshot is
 * loaded and every outbox record after that seq is applied on top, so revisions are never
 * lost; only quiet repeats counted since the last snapshot are.
 */
import { replaceFile } from '../../lib/atomic-file.js';
import { readJsonFile } from '../sinks/delivery/json-file.js';
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

/**
 * Writes the snapshot atomically, serialising a slice of entries at a time and yielding
 * between slices: ten thousand open incidents are megabytes of JSON, and one
 * JSON.stringify of all of them would stall ingest for hundreds of milliseconds.
 */
export async function writeIncidentSnapshot(path: string, snapshot: IncidentSnapshot, slice = 256): Promise<void> {
  await replaceFile(path, async (fh) => {
    await fh.write(`{"version":1,"outboxSeq":${snapshot.outboxSeq},"open":[`);
    for (let i = 0; i < snapshot.open.length; i += slice) {
      const part = snapshot.open.slice(i, i + slice).map((e) => JSON.stringify(e));
      await fh.write((i ? ',' : '') + part.join(','));
    }
    await fh.write('],"remembered":[');
    for (let i = 0; i < snapshot.remembered.length; i += slice * 16) {
      const part = JSON.stringify(snapshot.remembered.slice(i, i + slice * 16)).slice(1, -1);
      await fh.write((i ? ',' : '') + part);
    }
    await fh.write(']}');
  });
}
