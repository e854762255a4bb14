/**
 * Reading the dead-letter file back: both generations (`<path>.1`, then `<path>`), line by
 * line so a file at its size bound never sits in memory whole, each line parsed and
 * validated. A line that does not parse is reported with its file and line number and
 * otherwise left alone, so an operator can fix it by hand.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Incident } from '../../../proto/incident.js';
import { parseIncidentJson } from '../formats/incident-json-parse.js';

/** One dead-lettered incident as the file holds it. */
export interface DeadLetter {
  /** ISO time it was written. */
  readonly time: string;
  readonly sink: string;
  readonly error: string;
  readonly attempts: number;
  readonly incident: Incident;
}

/** Where a line is: the file's name (`dead-letter.jsonl` or `dead-letter.jsonl.1`) and its 1-based line. */
export interface LinePosition {
  readonly file: string;
  readonly line: number;
}

export interface MalformedLine extends LinePosition {
  readonly reason: string;
}

export type ParsedLine =
  { readonly ok: true; readonly letter: DeadLetter } | { readonly ok: false; readonly reason: string };

/** The generations of the dead-letter file at `path`, oldest first. */
export function deadLetterGenerations(path: string): readonly string[] {
  return [`${path}.1`, path];
}

/** Parses one line of the dead-letter file; every problem is named in `reason`. */
export function parseDeadLetterLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'not a JSON object' };
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v.time !== 'string' || !Number.isFinite(Date.parse(v.time)))
    problems.push('time: expected an ISO 8601 timestamp');
  if (typeof v.sink !== 'string' || v.sink === '') problems.push('sink: expected a non-empty string');
  if (typeof v.error !== 'string') problems.push('error: expected a string');
  if (!Number.isSafeInteger(v.attempts) || (v.attempts as number) < 1)
    problems.push('attempts: expected an integer ≥ 1');
  const parsed = parseIncidentJson(v.incident);
  if (!parsed.ok) problems.push(...parsed.problems.map((p) => (p.startsWith('incident:') ? p : `incident.${p}`)));
  if (problems.length || !parsed.ok) return { ok: false, reason: problems.join('; ') };
  return {
    ok: true,
    letter: {
      time: v.time as string,
      sink: v.sink as string,
      error: v.error as string,
      attempts: v.attempts as number,
      incident: parsed.incident,
    },
  };
}

/** The non-empty lines of `file` with their 1-based numbers; nothing when it does not exist. */
export async function* deadLetterLines(file: string): AsyncGenerator<{ readonly line: number; readonly text: string }> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const opened = await new Promise<boolean>((resolve, reject) => {
    stream.once('ready', () => resolve(true));
    stream.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(false) : reject(err)));
  });
  if (!opened) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() !== '') yield { line, text };
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** Every line of both generations, oldest first, parsed; `path` is the generation's full path. */
export async function* readDeadLetters(
  path: string,
): AsyncGenerator<LinePosition & { readonly path: string; readonly text: string; readonly parsed: ParsedLine }> {
  for (const generation of deadLetterGenerations(path)) {
    const file = basename(generation);
    for await (const { line, text } of deadLetterLines(generation))
      yield { path: generation, file, line, text, parsed: parseDeadLetterLine(text) };
  }
}

/** What `GET /api/v1/dead-letters` shows of one entry: enough to decide, not the evidence. */
export interface DeadLetterSummary extends LinePosition {
  readonly time: string;
  readonly sink: string;
  readonly error: string;
  readonly attempts: number;
  readonly incident: {
    readonly id: string;
    readonly revision: number;
    readonly rule: string;
    readonly severity: string;
    readonly workload: string;
  };
}

export interface DeadLetterListing {
  /** The first `limit` entries, oldest first. */
  readonly entries: readonly DeadLetterSummary[];
  /** Entries that matched the filter, including those past `limit`. */
  readonly total: number;
  readonly malformed: readonly MalformedLine[];
}

/** Lists dead-lettered incidents, optionally of one sink. */
export async function listDeadLetters(
  path: string,
  filter: { readonly sink?: string; readonly limit: number },
): Promise<DeadLetterListing> {
  const entries: DeadLetterSummary[] = [];
  const malformed: MalformedLine[] = [];
  let total = 0;
  for await (const { file, line, parsed } of readDeadLetters(path)) {
    if (!parsed.ok) {
      malformed.push({ file, line, reason: parsed.reason });
      continue;
    }
    const { time, sink, error, attempts, incident: i } = parsed.letter;
    if (filter.sink !== undefined && sink !== filter.sink) continue;
    total++;
    if (entries.length >= filter.limit) continue;
    entries.push({
      file,
      line,
      time,
      sink,
      error,
      attempts,
      incident: { id: i.id, revision: i.revision, rule: i.rule, severity: i.severity, workload: i.workloadKey },
    });
  }
  return { entries, total, malformed };
}
