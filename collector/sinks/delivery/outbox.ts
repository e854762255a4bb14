/**
 * The durable outbox: an append-only log of incident revisions in segment files, with a
 * persisted cursor per sink. `append` writes synchronously, so a record is in the kernel
 * page cache (and survives kill -9) before it returns; fsync runs as a group commit every
 * few milliseconds, so many appends share one fsync and power loss costs at most one
 * commit interval. Readers only see records that are fsynced.
 */
import { closeSync, fsync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import type { Logger } from '../../../lib/logger.js';
import type { Incident } from '../../../proto/incident.js';
import { readJsonFile, writeJsonFile, writeJsonFileSync } from './json-file.js';
import { decodeLines, encodeRecord, type OutboxRecord } from './outbox-record.js';
import { fsyncDir, listSegments, recoverTail, segmentPath, type SegmentInfo } from './outbox-segments.js';
import { createOutboxMetrics } from './outbox-metrics.js';
import { createOutboxReader, type OutboxReader, type ReaderSource } from './outbox-reader.js';
import { createRateLimitedWarning } from './rate-limited-warning.js';

const fsyncAsync = promisify(fsync);

/** What the outbox does with a new record when it holds `maxBytes`. */
export type WhenFull = 'drop-oldest' | 'refuse-new';

export interface OutboxOptions {
  readonly dir: string;
  /** Sinks that read the outbox; each gets a cursor (new sinks start at the end). */
  readonly sinkIds: readonly string[];
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly whenFull: WhenFull;
  /** Group-commit interval: how long appends wait to share one fsync. */
  readonly fsyncIntervalMs: number;
  /**
   * Seqs at or below this were issued before (the incident snapshot says so): numbering
   * continues after it even if segments were lost, so replay never skips new records.
   */
  readonly floorSeq?: number;
  readonly log: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
}

export type AppendResult =
  | { readonly status: 'appended'; readonly seq: number }
  | { readonly status: 'refused'; readonly reason: 'full' | 'write-error' | 'closed' };

export interface Outbox {
  /** Appends one incident revision; never throws. `sinks` restricts delivery (digests). */
  append(incident: Incident, sinks?: readonly string[]): AppendResult;
  /** Resolves once everything appended so far is fsynced. */
  whenDurable(): Promise<void>;
  /** A reader positioned after `sinkId`'s persisted cursor. */
  reader(sinkId: string): OutboxReader;
  /** Records that `sinkId` is done with every record up to `seq` (delivered or dead-lettered). */
  ack(sinkId: string, seq: number): void;
  /** Records after `sinkId`'s cursor. */
  depth(sinkId: string): number;
  /** Calls `fn` for every intact record after `afterSeq`, oldest first (start-up replay). */
  replay(afterSeq: number, fn: (r: OutboxRecord) => void): void;
  /** Bytes in segment files. */
  readonly bytes: number;
  /** Seq of the newest appended record (0 when none ever was). */
  readonly lastSeq: number;
  /** Fsyncs, persists cursors, closes files and wakes waiting readers. */
  close(): Promise<void>;
}

interface CursorFile {
  version: 1;
  sinks: Record<string, number>;
}

export function createOutbox(opts: OutboxOptions): Outbox {
  const log = opts.log.child({ component: 'outbox' });
  const now = opts.now ?? Date.now;
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const cursorPath = join(opts.dir, 'cursors.json');

  const segments: SegmentInfo[] = listSegments(opts.dir);
  let lastSeq = 0;
  const newest = segments.at(-1);
  if (newest) {
    const { lastSeq: tail, truncatedBytes } = recoverTail(newest);
    lastSeq = tail;
    if (truncatedBytes > 0)
      log.warn({ truncatedBytes, segment: newest.path }, 'cut a torn tail off the newest outbox segment');
  }
  const floor = opts.floorSeq ?? 0;
  if (lastSeq < floor) {
    if (newest)
      log.warn({ lastSeq, floorSeq: floor }, 'outbox is behind the incident snapshot; continuing numbering after it');
    lastSeq = floor;
    segments.push({ firstSeq: floor + 1, path: segmentPath(opts.dir, floor + 1), bytes: 0 });
  }
  let totalBytes = segments.reduce((n, s) => n + s.bytes, 0);
  let durableSeq = lastSeq;

  const stored = readJsonFile(cursorPath) as CursorFile | undefined;
  const cursors = new Map<string, number>();
  for (const id of opts.sinkIds) {
    const c = stored?.sinks?.[id];
    cursors.set(id, typeof c === 'number' && c <= lastSeq ? c : lastSeq);
  }
  writeJsonFileSync(cursorPath, cursorFile());

  if (segments.length === 0)
    segments.push({ firstSeq: lastSeq + 1, path: segmentPath(opts.dir, lastSeq + 1), bytes: 0 });
  let activeFd = openSync(segments.at(-1)!.path, 'a', 0o600);
  fsyncDir(opts.dir);

  const { fullTotal, droppedTotal, writeFailures, damagedTotal, fsyncSeconds } = createOutboxMetrics(
    opts.registry,
    () => totalBytes,
  );
  const fullWarning = createRateLimitedWarning(log, 10_000, now, 'error');
  const writeWarning = createRateLimitedWarning(log, 10_000, now, 'error');

  let closed = false;
  let sealing: number[] = [];
  let dirDirty = false;
  let commitTimer: NodeJS.Timeout | undefined;
  let committing: Promise<void> | undefined;
  let durableWaiters: Array<{ seq: number; resolve: () => void }> = [];
  let cursorsDirty = false;
  let cursorTimer: NodeJS.Timeout | undefined;
  let cursorWrite: Promise<void> = Promise.resolve();

  function cursorFile(): CursorFile {
    return { version: 1, sinks: Object.fromEntries(cursors) };
  }

  function lastSeqOf(index: number): number {
    const next = segments[index + 1];
    return next ? next.firstSeq - 1 : lastSeq;
  }

  function scheduleCommit(): void {
    if (commitTimer || committing || closed) return;
    commitTimer = setTimeout(() => {
      commitTimer = undefined;
      committing = commit().finally(() => {
        committing = undefined;
        if (durableSeq < lastSeq || sealing.length || dirDirty) scheduleCommit();
      });
    }, opts.fsyncIntervalMs);
  }

  async function commit(): Promise<void> {
    // Capture the target and the file holding it together: a rotation while this commit
    // awaits moves that file to `sealing`, and the next commit syncs and closes it.
    const target = lastSeq;
    const active = activeFd;
    const fds = sealing;
    sealing = [];
    const syncDir = dirDirty;
    dirDirty = false;
    const started = performance.now();
    let synced = 0;
    try {
      for (const fd of fds) {
        await fsyncAsync(fd);
        closeSync(fd);
        synced++;
      }
      await fsyncAsync(active);
      if (syncDir) fsyncDir(opts.dir);
      fsyncSeconds.observe((performance.now() - started) / 1000);
      durableSeq = Math.max(durableSeq, target);
      const ready = durableWaiters.filter((w) => w.seq <= durableSeq);
      durableWaiters = durableWaiters.filter((w) => w.seq > durableSeq);
      for (const w of ready) w.resolve();
    } catch (err) {
      // Keep the records undelivered rather than claim durability we do not have; the
      // next commit tries again.
      sealing = [...fds.slice(synced), ...sealing];
      dirDirty ||= syncDir;
      writeFailures.inc({ reason: 'fsync' });
      writeWarning.note({ err }, 'outbox fsync failed');
    }
  }

  function rotate(firstSeq: number): void {
    sealing.push(activeFd);
    const seg = { firstSeq, path: segmentPath(opts.dir, firstSeq), bytes: 0 };
    activeFd = openSync(seg.path, 'a', 0o600);
    segments.push(seg);
    dirDirty = true;
  }

  function deleteOldest(): void {
    const seg = segments.shift()!;
    try {
      unlinkSync(seg.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn({ err, segment: seg.path }, 'could not delete outbox segment');
    }
    totalBytes -= seg.bytes;
    dirDirty = true;
  }

  /** Drops the oldest sealed segment even though some sinks have not passed it. */
  function dropOldest(): boolean {
    if (segments.length < 2) return false;
    const end = lastSeqOf(0);
    for (const [id, c] of cursors) {
      if (c < end) {
        droppedTotal.inc({ sink: id }, end - c);
        cursors.set(id, end);
      }
    }
    deleteOldest();
    markCursorsDirty();
    return true;
  }

  function compact(): void {
    let min = Infinity;
    for (const c of cursors.values()) min = Math.min(min, c);
    if (cursors.size === 0) min = lastSeq;
    while (segments.length > 1 && lastSeqOf(0) <= min) deleteOldest();
  }

  function markCursorsDirty(): void {
    cursorsDirty = true;
    if (cursorTimer || closed) return;
    cursorTimer = setTimeout(() => {
      cursorTimer = undefined;
      void persistCursors();
    }, 100);
  }

  function persistCursors(): Promise<void> {
    if (!cursorsDirty) return cursorWrite;
    cursorsDirty = false;
    const snapshot = cursorFile();
    cursorWrite = cursorWrite
      .then(() => writeJsonFile(cursorPath, snapshot))
      .catch((err: unknown) => {
        cursorsDirty = true;
        writeFailures.inc({ reason: 'cursor' });
        writeWarning.note({ err }, 'could not persist outbox cursors');
      });
    return cursorWrite;
  }

  function waitDurable(seq: number, signal: AbortSignal): Promise<void> {
    if (closed || durableSeq >= seq || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const w = {
        seq,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        durableWaiters = durableWaiters.filter((x) => x !== w);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      durableWaiters.push(w);
    });
  }

  const source: ReaderSource = {
    get durableSeq() {
      return durableSeq;
    },
    get closed() {
      return closed;
    },
    segments: () => segments,
    waitDurable,
    onDamaged: (n) => {
      damagedTotal.inc(n);
      writeWarning.note({ damaged: n }, 'skipped damaged outbox records');
    },
  };

  return {
    append(incident, sinks) {
      if (closed) return { status: 'refused', reason: 'closed' };
      const seq = lastSeq + 1;
      let buf: Buffer;
      try {
        buf = encodeRecord(sinks ? { seq, appendedMs: now(), sinks, incident } : { seq, appendedMs: now(), incident });
      } catch (err) {
        writeFailures.inc({ reason: 'encode' });
        writeWarning.note({ err, rule: incident.rule }, 'could not encode an incident revision');
        return { status: 'refused', reason: 'write-error' };
      }
      while (totalBytes + buf.length > opts.maxBytes) {
        fullTotal.inc();
        if (opts.whenFull === 'refuse-new' || !dropOldest()) {
          fullWarning.note(
            { maxBytes: opts.maxBytes, whenFull: opts.whenFull },
            'outbox full: refusing new incident revisions until sinks catch up',
          );
          return { status: 'refused', reason: 'full' };
        }
        fullWarning.note(
          { maxBytes: opts.maxBytes, whenFull: opts.whenFull },
          'outbox full: dropped the oldest segment; lagging sinks lose those incidents',
        );
      }
      let active = segments.at(-1)!;
      try {
        if (active.bytes > 0 && active.bytes + buf.length > opts.segmentBytes) {
          rotate(seq);
          active = segments.at(-1)!;
        }
        const n = writeSync(activeFd, buf);
        if (n !== buf.length) {
          ftruncateSync(activeFd, active.bytes);
          throw new Error(`short write: ${n} of ${buf.length} bytes`);
        }
      } catch (err) {
        writeFailures.inc({ reason: 'write' });
        writeWarning.note({ err }, 'outbox write failed; incident revision not recorded');
        return { status: 'refused', reason: 'write-error' };
      }
      active.bytes += buf.length;
      totalBytes += buf.length;
      lastSeq = seq;
      scheduleCommit();
      return { status: 'appended', seq };
    },

    whenDurable() {
      return waitDurable(lastSeq, new AbortController().signal);
    },

    reader(sinkId) {
      const c = cursors.get(sinkId);
      if (c === undefined) throw new Error(`outbox has no cursor for sink ${sinkId}`);
      return createOutboxReader(source, c);
    },

    ack(sinkId, seq) {
      const c = cursors.get(sinkId);
      if (c === undefined || seq <= c) return;
      cursors.set(sinkId, Math.min(seq, lastSeq));
      compact();
      markCursorsDirty();
    },

    depth(sinkId) {
      return lastSeq - (cursors.get(sinkId) ?? lastSeq);
    },

    replay(afterSeq, fn) {
      for (let i = 0; i < segments.length; i++) {
        if (lastSeqOf(i) <= afterSeq) continue;
        const { records, damaged } = decodeLines(readFileSync(segments[i]!.path));
        if (damaged) source.onDamaged(damaged);
        for (const r of records) if (r.seq > afterSeq) fn(r);
      }
    },

    get bytes() {
      return totalBytes;
    },

    get lastSeq() {
      return lastSeq;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (commitTimer) clearTimeout(commitTimer);
      commitTimer = undefined;
      await committing;
      await commit();
      for (const w of durableWaiters) w.resolve();
      durableWaiters = [];
      closeSync(activeFd);
      if (cursorTimer) clearTimeout(cursorTimer);
      cursorsDirty = true;
      await persistCursors();
    },
  };
}
