/**
 * Segment files of the outbox: `seg-<first seq, 20 digits>.log` in one directory. A
 * segment is sealed once a newer one exists; only the newest is appended to.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readSync, fstatSync, ftruncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLines } from './outbox-record.js';

export interface SegmentInfo {
  readonly firstSeq: number;
  readonly path: string;
  /** Bytes on disk (for the active segment: bytes written so far). */
  bytes: number;
}

const NAME = /^seg-(\d{20})\.log$/;

export function segmentPath(dir: string, firstSeq: number): string {
  return join(dir, `seg-${String(firstSeq).padStart(20, '0')}.log`);
}

/** Segments in `dir`, oldest first. */
export function listSegments(dir: string): SegmentInfo[] {
  const out: SegmentInfo[] = [];
  for (const name of readdirSync(dir)) {
    const m = NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    out.push({ firstSeq: Number(m[1]), path, bytes: statSync(path).size });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

/**
 * Scans the newest segment, cuts it after its last intact record (a crash can leave a
 * torn or zero-filled tail), and returns the last seq it holds (firstSeq - 1 if none).
 */
export function recoverTail(seg: SegmentInfo): { lastSeq: number; truncatedBytes: number } {
  const fd = openSync(seg.path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    // Keep the prefix of consecutive intact records; anything after the first damaged
    // line in the newest segment was never acknowledged as durable.
    let good = 0;
    let lastSeq = seg.firstSeq - 1;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0 || nl >= off) break;
      const { records } = decodeLines(buf.subarray(start, nl + 1));
      const rec = records[0];
      if (!rec || rec.seq !== lastSeq + 1) break;
      lastSeq = rec.seq;
      good = nl + 1;
      start = nl + 1;
    }
    if (good < size) {
      ftruncateSync(fd, good);
      fsyncSync(fd);
    }
    seg.bytes = good;
    return { lastSeq, truncatedBytes: size - good };
  } finally {
    closeSync(fd);
  }
}

/** Makes a new directory entry durable (a created or renamed file survives power loss). */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
