/**
 * Reads one sink's way through the outbox segments. Each sink has its own reader, so a
 * sink that is behind (or down) reads old segments from disk while the others stay at
 * the tail; no sink waits for another.
 */
import { open } from 'node:fs/promises';
import { decodeLines, type OutboxRecord } from './outbox-record.js';
import type { SegmentInfo } from './outbox-segments.js';

/** What a reader needs from the outbox. */
export interface ReaderSource {
  readonly durableSeq: number;
  readonly closed: boolean;
  segments(): readonly SegmentInfo[];
  waitDurable(seq: number, signal: AbortSignal): Promise<void>;
  onDamaged(lines: number): void;
}

export interface OutboxReader {
  /**
   * Up to `max` fsynced records after the last ones returned, oldest first; waits while
   * there are none. Returns [] once the outbox closes or `signal` aborts.
   */
  next(max: number, signal: AbortSignal): Promise<OutboxRecord[]>;
}

const CHUNK = 256 * 1024;

export function createOutboxReader(source: ReaderSource, afterSeq: number): OutboxReader {
  /** Highest seq read from disk (or skipped over). */
  let readSeq = afterSeq;
  let segFirst = -1;
  let offset = 0;
  let leftover: Buffer = Buffer.alloc(0);
  let pending: OutboxRecord[] = [];

  /** The segment holding readSeq + 1, or undefined when the outbox has none. */
  function locate(): { seg: SegmentInfo; next: SegmentInfo | undefined } | undefined {
    const segs = source.segments();
    const first = segs[0];
    // The outbox dropped segments this reader had not reached (outbox full).
    if (first && readSeq + 1 < first.firstSeq) readSeq = first.firstSeq - 1;
    for (let i = segs.length - 1; i >= 0; i--) {
      const seg = segs[i]!;
      if (seg.firstSeq <= readSeq + 1) return { seg, next: segs[i + 1] };
    }
    return undefined;
  }

  /** Reads the next chunk into `pending`; false when there was nothing to read. */
  async function fill(): Promise<boolean> {
    const at = locate();
    if (!at) return false;
    if (at.seg.firstSeq !== segFirst) {
      segFirst = at.seg.firstSeq;
      offset = 0;
      leftover = Buffer.alloc(0);
    }
    let chunk: Buffer;
    try {
      const fh = await open(at.seg.path, 'r');
      try {
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
        chunk = buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Deleted under us (outbox full): locate() moves on to the oldest remaining one.
      segFirst = -1;
      return true;
    }
    if (chunk.length === 0) {
      if (!at.next) return false;
      // Sealed and read to the end; a partial line left over was a torn record.
      if (leftover.length) source.onDamaged(1);
      readSeq = Math.max(readSeq, at.next.firstSeq - 1);
      segFirst = -1;
      return true;
    }
    offset += chunk.length;
    const buf = leftover.length ? Buffer.concat([leftover, chunk]) : chunk;
    const { records, damaged, consumed } = decodeLines(buf);
    leftover = Buffer.from(buf.subarray(consumed));
    if (damaged) source.onDamaged(damaged);
    for (const r of records) {
      if (r.seq <= readSeq) continue;
      pending.push(r);
      readSeq = r.seq;
    }
    return true;
  }

  return {
    async next(max, signal) {
      for (;;) {
        if (source.closed || signal.aborted) return [];
        const durable = source.durableSeq;
        const head = pending[0];
        if (head && head.seq <= durable) {
          let n = 0;
          while (n < pending.length && n < max && pending[n]!.seq <= durable) n++;
          const out = pending.slice(0, n);
          pending = pending.slice(n);
          return out;
        }
        if (head) {
          await source.waitDurable(head.seq, signal);
        } else if (readSeq >= durable) {
          await source.waitDurable(readSeq + 1, signal);
        } else if (!(await fill())) {
          // durableSeq is ahead but the newest segment has nothing more: the records in
          // between were damaged. Wait for the next append rather than spin.
          await source.waitDurable(durable + 1, signal);
        }
      }
    },
  };
}
