/**
 * One outbox line: `<crc32 hex> <json>\n`. The checksum lets recovery tell a torn or
 * zero-filled tail (crash between write and fsync) from a record, and lets a reader skip
 * a damaged line in a sealed segment instead of stalling on it.
 */
import { crc32 } from 'node:zlib';
import type { Incident } from '../../../proto/incident.js';

export interface OutboxRecord {
  /** Position in the outbox, 1-based and gap-free across segments. */
  readonly seq: number;
  /** When the record was appended (ms since the epoch), for the oldest-age gauge. */
  readonly appendedMs: number;
  /** When set, only these sink ids receive the record (digests); otherwise every routed sink. */
  readonly sinks?: readonly string[];
  readonly incident: Incident;
}

interface RecordJson {
  s: number;
  t: number;
  k?: readonly string[];
  i: Incident;
}

export function encodeRecord(r: OutboxRecord): Buffer {
  const body: RecordJson = { s: r.seq, t: r.appendedMs, i: r.incident };
  if (r.sinks) body.k = r.sinks;
  // Encode the JSON once and checksum those bytes; the line is assembled around them.
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const line = Buffer.allocUnsafe(json.length + 10);
  line.write(crc32(json).toString(16).padStart(8, '0'), 0, 8, 'latin1');
  line[8] = 0x20;
  json.copy(line, 9);
  line[line.length - 1] = 0x0a;
  return line;
}

/** Decodes one line (without its newline); undefined when damaged. */
export function decodeRecord(line: Buffer): OutboxRecord | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const json = line.subarray(9);
  const crc = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  if (!Number.isFinite(crc) || crc32(json) !== crc) return undefined;
  try {
    const body = JSON.parse(json.toString('utf8')) as RecordJson;
    if (typeof body.s !== 'number' || typeof body.t !== 'number' || typeof body.i !== 'object') return undefined;
    return body.k
      ? { seq: body.s, appendedMs: body.t, sinks: body.k, incident: body.i }
      : { seq: body.s, appendedMs: body.t, incident: body.i };
  } catch {
    return undefined;
  }
}

/**
 * Splits `buf` into complete lines. Returns the decoded records, how many lines were
 * damaged, and how many bytes were consumed (a trailing partial line is left over).
 */
export function decodeLines(buf: Buffer): { records: OutboxRecord[]; damaged: number; consumed: number } {
  const records: OutboxRecord[] = [];
  let damaged = 0;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    const rec = decodeRecord(buf.subarray(start, nl));
    if (rec) records.push(rec);
    else damaged++;
    start = nl + 1;
  }
  return { records, damaged, consumed: start };
}
