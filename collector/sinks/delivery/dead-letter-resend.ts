/**
 * Re-sending dead letters once an operator has fixed a sink: each dead-lettered incident
 * is appended to the outbox again, addressed to its sink only, so the ordinary delivery
 * loop sends it with the same idempotency key, retries, backoff and metrics as any other
 * record. Crash safety comes from the order: the outbox records are fsynced first, and
 * only then are the re-queued lines removed from the dead-letter file by an atomic
 * replace. A crash in between re-sends those incidents twice (receivers de-duplicate on
 * the key); no order loses one.
 */
import type { Logger } from '../../../lib/logger.js';
import { replaceFile } from '../../../lib/atomic-file.js';
import type { Sink } from '../sink.js';
import type { DeadLetterFile } from './dead-letter.js';
import type { DeadLetterMetrics } from './dead-letter-metrics.js';
import { deadLetterGenerations, deadLetterLines, readDeadLetters, type MalformedLine } from './dead-letter-reader.js';
import type { Outbox } from './outbox.js';
import { routes } from './sink-delivery.js';

export interface DeadLetterResendDeps {
  readonly deadLetter: DeadLetterFile;
  readonly outbox: Outbox;
  /** The configured sinks; entries of any other sink are left in the file. */
  readonly sinks: readonly Sink[];
  /**
   * Outbox bytes a resend may fill up to. It stops below the outbox's own bound, so a
   * large resend never makes the outbox drop or refuse live incidents; the rest stays in
   * the file for the next resend.
   */
  readonly outboxBudgetBytes: number;
  readonly metrics: DeadLetterMetrics;
  readonly log: Logger;
}

export interface ResendReport {
  /** Incidents appended to the outbox for their sink and removed from the file. */
  readonly requeued: number;
  /** Entries whose sink is no longer configured; left in the file. */
  readonly skippedUnknownSink: number;
  /** Entries their sink would not take now (its minSeverity or namespaces changed); left in the file. */
  readonly skippedNotRouted: number;
  /** Entries left for a later resend because the outbox was near its bound or refused the append. */
  readonly deferred: number;
  /** Lines that do not parse; left in the file. */
  readonly malformed: readonly MalformedLine[];
}

/** Lines re-queued, by generation path, to drop when the file is rewritten. */
type Taken = Map<string, Set<number>>;

/** Rewrites `file` without the `drop` lines, atomically; other lines are kept byte for byte. */
async function removeLines(file: string, drop: ReadonlySet<number>): Promise<void> {
  await replaceFile(file, async (fh) => {
    let chunk = '';
    for await (const { line, text } of deadLetterLines(file)) {
      if (drop.has(line)) continue;
      chunk += `${text}\n`;
      if (chunk.length >= 64 * 1024) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    if (chunk) await fh.write(chunk);
  });
}

/** Re-queues the dead letters of every configured sink, or of `filter.sink` only. */
export function resendDeadLetters(
  deps: DeadLetterResendDeps,
  filter: { readonly sink?: string },
): Promise<ResendReport> {
  const log = deps.log.child({ component: 'dead-letter-resend' });
  const byId = new Map(deps.sinks.map((s) => [s.id, s]));
  // Exclusive: no sink appends to the file while it is read and replaced.
  return deps.deadLetter.exclusive(async () => {
    const generations = deadLetterGenerations(deps.deadLetter.path);
    const taken: Taken = new Map(generations.map((g) => [g, new Set<number>()]));
    const perSink = new Map<string, number>();
    const malformed: MalformedLine[] = [];
    let skippedUnknownSink = 0;
    let skippedNotRouted = 0;
    let deferred = 0;
    let full = false;
    for await (const { path, file, line, parsed } of readDeadLetters(deps.deadLetter.path)) {
      if (!parsed.ok) {
        malformed.push({ file, line, reason: parsed.reason });
        continue;
      }
      const { sink: sinkId, incident } = parsed.letter;
      if (filter.sink !== undefined && sinkId !== filter.sink) continue;
      const sink = byId.get(sinkId);
      if (!sink) {
        skippedUnknownSink++;
        continue;
      }
      // The delivery loop would skip a record its sink no longer routes; leaving it in
      // the file keeps it visible instead of acknowledging it unsent.
      if (!routes(sink, { seq: 0, appendedMs: 0, sinks: [sink.id], incident })) {
        skippedNotRouted++;
        continue;
      }
      if (full || deps.outbox.bytes >= deps.outboxBudgetBytes) {
        full = true;
        deferred++;
        continue;
      }
      const appended = deps.outbox.append(incident, [sink.id]);
      if (appended.status !== 'appended') {
        log.warn({ reason: appended.reason }, 'outbox refused a re-queued incident; the rest stay dead-lettered');
        full = true;
        deferred++;
        continue;
      }
      taken.get(path)!.add(line);
      perSink.set(sink.id, (perSink.get(sink.id) ?? 0) + 1);
    }
    let requeued = 0;
    for (const n of perSink.values()) requeued += n;
    if (requeued > 0) {
      await deps.outbox.whenDurable();
      // Counted once durable: a failed rewrite below still leaves them queued (and in the file).
      for (const [sink, n] of perSink) deps.metrics.resent.inc({ sink }, n);
      for (const [file, drop] of taken) if (drop.size) await removeLines(file, drop);
    }
    const report: ResendReport = { requeued, skippedUnknownSink, skippedNotRouted, deferred, malformed };
    log.info(
      { ...report, malformed: malformed.length, sinks: Object.fromEntries(perSink) },
      'dead-lettered incidents re-queued',
    );
    return report;
  });
}
