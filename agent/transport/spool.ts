/**
 * The on-disk spool: batches the collector has not acknowledged, kept while it is
 * unreachable (or slower than the node), bounded in bytes.
 *
 * Layout: append-only segment files "<16-digit sequence>.seg" in one directory; each
 * record is [u32 LE length][u32 LE CRC-32 of the body][body]. Records are appended with
 * synchronous writes (they reach the page cache before send() returns, so an agent crash
 * loses nothing) and fsync'ed at most every `fsyncIntervalMs`, so a power loss costs at
 * most that much. A segment is deleted once every record in it was acknowledged. At open,
 * existing segments are recovered; a torn tail record (crash mid-write) is cut off.
 * Records recovered from an earlier run may be delivered twice; the collector
 * de-duplicates by agent run id and sequence number.
 */
import {
  closeSync,
  fsync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  truncateSync,
  unlinkSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../../lib/logger.js';

export interface Spool {
  /** Bytes held in segment files. */
  readonly bytes: number;
  /** Records appended (or recovered) and not yet read. */
  readonly unread: number;
  /** Appends one record; 'full' when it would pass maxBytes, 'error' on an I/O failure. */
  append(body: Uint8Array): 'ok' | 'full' | 'error';
  /** The oldest unread record, or undefined. */
  read(): Buffer | undefined;
  /** Marks the oldest read record as delivered; deletes segments that are fully delivered. */
  release(): void;
  /** Flushes and closes files; safe to call twice. */
  close(): void;
}

export interface SpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly fsyncIntervalMs: number;
  readonly log: Logger;
  /** Counts I/O failures by reason (spool_write, spool_read, spool_corrupt). */
  readonly onError?: (reason: 'spool_write' | 'spool_read' | 'spool_corrupt') => void;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  size: number;
  records: number;
  readOffset: number;
  readCount: number;
  released: number;
  /** Open for appending (only the newest segment). */
  wfd: number | undefined;
  rfd: number | undefined;
}

const HEADER = 8;
const NAME = /^(\d{16})\.seg$/;

/** Opens (creating) the spool directory and recovers what an earlier run left; throws on start-up failure. */
export function openSpool(opts: SpoolOptions): Spool {
  const log = opts.log.child({ component: 'spool' });
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const segments: Segment[] = [];
  let bytes = 0;
  let unread = 0;
  let dirty = false;
  let closed = false;

  for (const name of readdirSync(opts.dir).sort()) {
    const m = NAME.exec(name);
    if (!m) continue;
    const seg = recover(join(opts.dir, name), Number(m[1]));
    if (seg) segments.push(seg);
  }
  if (unread) log.info({ records: unread, bytes }, 'recovered spooled batches from an earlier run');

  // Armed by the first unsynced append rather than ticking: an agent with nothing to
  // spool has no timer waking it, and an append is still synced within fsyncIntervalMs.
  let timer: NodeJS.Timeout | undefined;

  function recover(path: string, seq: number): Segment | undefined {
    const data = readFileSync(path);
    let off = 0;
    let records = 0;
    while (off + HEADER <= data.length) {
      const len = data.readUInt32LE(off);
      const end = off + HEADER + len;
      if (end > data.length || crc32(data.subarray(off + HEADER, end)) !== data.readUInt32LE(off + 4)) break;
      off = end;
      records++;
    }
    if (off < data.length) {
      log.warn({ path, lostBytes: data.length - off }, 'cut a torn record off a spool segment');
      opts.onError?.('spool_corrupt');
      truncateSync(path, off);
    }
    if (records === 0) {
      unlinkSync(path);
      return undefined;
    }
    bytes += off;
    unread += records;
    return { seq, path, size: off, records, readOffset: 0, readCount: 0, released: 0, wfd: undefined, rfd: undefined };
  }

  function closeFds(s: Segment): void {
    for (const fd of [s.wfd, s.rfd]) {
      if (fd === undefined) continue;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    s.wfd = s.rfd = undefined;
  }

  function sealWriteSegment(s: Segment): void {
    if (s.wfd === undefined) return;
    try {
      fsyncSync(s.wfd);
      closeSync(s.wfd);
    } catch (err) {
      log.warn({ err, path: s.path }, 'could not flush a spool segment');
    }
    s.wfd = undefined;
  }

  function writeSegment(need: number): Segment {
    const last = segments.at(-1);
    if (last?.wfd !== undefined && last.size + need <= opts.segmentBytes) return last;
    if (last) sealWriteSegment(last);
    const seq = (last?.seq ?? 0) + 1;
    const path = join(opts.dir, `${String(seq).padStart(16, '0')}.seg`);
    const seg: Segment = {
      seq,
      path,
      size: 0,
      records: 0,
      readOffset: 0,
      readCount: 0,
      released: 0,
      wfd: openSync(path, 'wx', 0o600),
      rfd: undefined,
    };
    segments.push(seg);
    return seg;
  }

  function flushAsync(): void {
    timer = undefined;
    const fd = segments.at(-1)?.wfd;
    if (!dirty || fd === undefined) return;
    dirty = false;
    // A segment sealed meanwhile is fsync'ed synchronously; EBADF here is harmless.
    fsync(fd, () => {});
  }

  function drop(s: Segment): void {
    closeFds(s);
    try {
      unlinkSync(s.path);
    } catch (err) {
      log.warn({ err, path: s.path }, 'could not delete a delivered spool segment');
    }
    bytes -= s.size;
    segments.splice(segments.indexOf(s), 1);
  }

  return {
    get bytes() {
      return bytes;
    },
    get unread() {
      return unread;
    },
    append(body) {
      if (closed) return 'error';
      const need = HEADER + body.length;
      if (bytes + need > opts.maxBytes) return 'full';
      try {
        const seg = writeSegment(need);
        const header = Buffer.alloc(HEADER);
        header.writeUInt32LE(body.length, 0);
        header.writeUInt32LE(crc32(body), 4);
        writevSync(seg.wfd!, [header, body]);
        seg.size += need;
        seg.records++;
        bytes += need;
        unread++;
        if (opts.fsyncIntervalMs === 0) fsyncSync(seg.wfd!);
        else {
          dirty = true;
          timer ??= setTimeout(flushAsync, opts.fsyncIntervalMs).unref();
        }
        return 'ok';
      } catch (err) {
        log.error({ err, dir: opts.dir }, 'spool write failed');
        opts.onError?.('spool_write');
        return 'error';
      }
    },
    read() {
      const seg = segments.find((s) => s.readCount < s.records);
      if (!seg) return undefined;
      try {
        seg.rfd ??= openSync(seg.path, 'r');
        const header = Buffer.alloc(HEADER);
        readSync(seg.rfd, header, 0, HEADER, seg.readOffset);
        const len = header.readUInt32LE(0);
        const body = Buffer.alloc(len);
        if (
          readSync(seg.rfd, body, 0, len, seg.readOffset + HEADER) !== len ||
          crc32(body) !== header.readUInt32LE(4)
        ) {
          throw new Error('record does not match its checksum');
        }
        seg.readOffset += HEADER + len;
        seg.readCount++;
        unread--;
        return body;
      } catch (err) {
        // A segment that cannot be read back is skipped whole: retrying would wedge the spool.
        log.error(
          { err, path: seg.path, lostRecords: seg.records - seg.readCount },
          'unreadable spool segment skipped',
        );
        opts.onError?.('spool_read');
        unread -= seg.records - seg.readCount;
        seg.released += seg.records - seg.readCount;
        seg.readCount = seg.records;
        seg.readOffset = seg.size;
        if (seg.released >= seg.records && seg.wfd === undefined) drop(seg);
        return undefined;
      }
    },
    release() {
      const seg = segments.find((s) => s.released < s.readCount);
      if (!seg) return;
      seg.released++;
      if (seg.released < seg.records) return;
      // The open write segment is deleted too once drained: the next append starts a new one.
      drop(seg);
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      const last = segments.at(-1);
      if (last) sealWriteSegment(last);
      for (const s of segments) closeFds(s);
    },
  };
}
