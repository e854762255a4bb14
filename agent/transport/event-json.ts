/**
 * The JSON-lines form of observations: one decoded event (proto/events.ts shape) per
 * line. `tripline agent --print` writes it and the replay sensor reads it back, so a
 * recording made on one node can be replayed anywhere.
 */
import { EVENT_KINDS, type TriplineEvent } from '../../proto/events.js';

/** One line (without the newline); bigints become decimal strings instead of throwing. */
export function eventToJsonLine(e: TriplineEvent): string {
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The event on one line, or why it is not one. Checks the shape the pipeline relies on. */
export function eventFromJsonLine(line: string): { ok: true; event: TriplineEvent } | { ok: false; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  if (!isObject(v)) return { ok: false, error: 'not an object' };
  if (!EVENT_KINDS.includes(v.kind as TriplineEvent['kind']))
    return { ok: false, error: `unknown kind ${String(v.kind)}` };
  const c = v.container;
  if (!isObject(c) || typeof c.cgroupId !== 'number') return { ok: false, error: 'container.cgroupId missing' };
  const p = v.process;
  if (!isObject(p) || typeof p.exe !== 'string' || !Array.isArray(p.argv))
    return { ok: false, error: 'process missing' };
  if (typeof v.timeNs !== 'number') return { ok: false, error: 'timeNs missing' };
  const kindFields: Record<TriplineEvent['kind'], string[]> = {
    exec: ['cwd'],
    syscalls: ['arch'],
    file: ['op', 'path'],
    listen: ['protocol', 'ip'],
    connect: ['protocol', 'ip'],
  };
  for (const f of kindFields[v.kind as TriplineEvent['kind']]) {
    if (typeof v[f] !== 'string') return { ok: false, error: `${String(v.kind)} event without ${f}` };
  }
  return { ok: true, event: v as unknown as TriplineEvent };
}
