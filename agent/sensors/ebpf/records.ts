/**
 * Decoders for the fixed ring-buffer record layouts in agent/bpf/tripline.h, one per
 * kind. Offsets here and there change together. Decoding copies what it keeps: the view
 * points into the ring buffer and is only valid during the sample callback.
 */
import type { FileOp, Protocol } from '../../../proto/events.js';
import { formatIp } from './ip-text.js';

export const RECORD_KIND = { exec: 1, syscall: 2, file: 3, listen: 4, connect: 5, dns: 6 } as const;

const HDR_SIZE = 48;
/** Minimum size of each record; exec and file records carry their strings after the fixed part. */
export const RECORD_SIZE = { exec: 64, syscall: 56, file: 72, listen: 88, connect: 88, dns: 64 } as const;

const PATH_MAX = 256;
const FILE_FIXED = 72;
const EXEC_FIXED = 64;
const ARGS_MAX = 1024;
const EXEC_ARGV_TRUNCATED = 0x1;
const EXEC_ARGV_MISSING = 0x2;
const FILE_PATH_TRUNCATED = 0x1;
const DNS_FIXED = 64;
const DNS_MAX = 1232;
const DNS_CUT = 0x1;
const AF_INET = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const FILE_OPS: Record<number, FileOp> = { 1: 'open-write', 2: 'rename', 3: 'unlink', 4: 'chmod' };

/** Fields every record starts with (struct tl_hdr). */
export interface RecordHeader {
  /** CLOCK_MONOTONIC nanoseconds. */
  readonly monoNs: bigint;
  readonly cgroupId: number;
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly comm: string;
}

export interface ExecRecord {
  readonly kind: 'exec';
  readonly hdr: RecordHeader;
  readonly filename: string;
  readonly argv: string[];
  readonly argvTruncated: boolean;
  /** The execve arguments were not captured (e.g. the capture map entry was evicted). */
  readonly argvMissing: boolean;
}

export interface SyscallRecord {
  readonly kind: 'syscall';
  readonly hdr: RecordHeader;
  readonly nr: number;
}

export interface FileRecord {
  readonly kind: 'file';
  readonly hdr: RecordHeader;
  readonly op: FileOp;
  readonly flags: number;
  readonly dirfd: number;
  readonly oldDirfd: number;
  readonly path: string;
  readonly oldPath: string;
  readonly truncated: boolean;
}

export interface SockRecord {
  readonly kind: 'listen' | 'connect';
  readonly hdr: RecordHeader;
  readonly protocol: Protocol;
  readonly ip: string;
  readonly port: number;
  /** Socket inode of a TCP listener whose port was not chosen yet (port 0); 0 otherwise. */
  readonly sockIno: number;
  /** Network namespace cookie of a connecting socket; 0 for listeners. */
  readonly netns: number;
}

/** A DNS response from a trusted resolver, received by a socket of the cgroup. */
export interface DnsRecord {
  readonly kind: 'dns';
  /** pid, ppid, uid and comm are zero: the kernel saw the packet, not a process. */
  readonly hdr: RecordHeader;
  readonly payload: Uint8Array;
  /** The message was longer than the kernel copies; payload is its start. */
  readonly cut: boolean;
  /** Network namespace cookie of the receiving socket. */
  readonly netns: number;
}

export type RawRecord = ExecRecord | SyscallRecord | FileRecord | SockRecord | DnsRecord;

export type DecodeOutcome = { ok: true; record: RawRecord } | { ok: false; error: string };

function cString(bytes: Uint8Array, offset: number, max: number): string {
  const end = bytes.indexOf(0, offset);
  const stop = end < 0 || end > offset + max ? offset + max : end;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, stop - offset).toString('utf8');
}

function header(v: DataView, bytes: Uint8Array): RecordHeader {
  return {
    monoNs: v.getBigUint64(0, true),
    // kernfs ids (inode numbers) stay far below 2^53.
    cgroupId: Number(v.getBigUint64(8, true)),
    pid: v.getUint32(20, true),
    ppid: v.getUint32(24, true),
    uid: v.getUint32(28, true),
    comm: cString(bytes, 32, 16),
  };
}

function decodeExec(v: DataView, bytes: Uint8Array): ExecRecord | string {
  const flags = v.getUint32(48, true);
  const argc = v.getUint32(52, true);
  const argsLen = v.getUint32(56, true);
  const filenameLen = v.getUint32(60, true);
  if (filenameLen > PATH_MAX || argsLen > ARGS_MAX || EXEC_FIXED + filenameLen + argsLen > bytes.length) {
    return `exec record of ${bytes.length} bytes cannot hold ${filenameLen} filename and ${argsLen} argv bytes`;
  }
  const argv: string[] = [];
  let off = EXEC_FIXED + filenameLen;
  const end = off + argsLen;
  while (off < end && argv.length < argc) {
    const nul = bytes.indexOf(0, off);
    const stop = nul < 0 || nul > end ? end : nul;
    argv.push(Buffer.from(bytes.buffer, bytes.byteOffset + off, stop - off).toString('utf8'));
    off = stop + 1;
  }
  return {
    kind: 'exec',
    hdr: header(v, bytes),
    filename: cString(bytes, EXEC_FIXED, filenameLen),
    argv,
    argvTruncated: (flags & EXEC_ARGV_TRUNCATED) !== 0,
    argvMissing: (flags & EXEC_ARGV_MISSING) !== 0,
  };
}

function decodeFile(v: DataView, bytes: Uint8Array): FileRecord | string {
  const op = FILE_OPS[v.getUint32(48, true)];
  if (!op) return `file record with unknown op ${v.getUint32(48, true)}`;
  const pathLen = v.getUint16(68, true);
  const oldLen = v.getUint16(70, true);
  if (pathLen > PATH_MAX || oldLen > PATH_MAX || FILE_FIXED + pathLen + oldLen > bytes.length) {
    return `file record of ${bytes.length} bytes cannot hold paths of ${pathLen} and ${oldLen} bytes`;
  }
  return {
    kind: 'file',
    hdr: header(v, bytes),
    op,
    flags: v.getUint32(52, true),
    dirfd: v.getInt32(56, true),
    oldDirfd: v.getInt32(60, true),
    truncated: (v.getUint32(64, true) & FILE_PATH_TRUNCATED) !== 0,
    path: cString(bytes, FILE_FIXED, pathLen),
    oldPath: oldLen ? cString(bytes, FILE_FIXED + pathLen, oldLen) : '',
  };
}

function decodeSock(kind: 'listen' | 'connect', v: DataView, bytes: Uint8Array): SockRecord | undefined {
  const family = v.getUint16(48, true);
  const proto = v.getUint8(52);
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return undefined;
  const addr = bytes.subarray(56, 56 + (family === AF_INET ? 4 : 16));
  return {
    kind,
    hdr: header(v, bytes),
    protocol: proto === IPPROTO_TCP ? 'tcp' : 'udp',
    ip: formatIp(addr),
    port: v.getUint16(50, true),
    sockIno: Number(v.getBigUint64(72, true)),
    netns: Number(v.getBigUint64(80, true)),
  };
}

/** Decodes one ring-buffer record; never throws. */
export function decodeRecord(buf: ArrayBuffer, byteOffset = 0, size = buf.byteLength - byteOffset): DecodeOutcome {
  if (size < HDR_SIZE) return { ok: false, error: `record of ${size} bytes is shorter than its header` };
  const v = new DataView(buf, byteOffset, size);
  const bytes = new Uint8Array(buf, byteOffset, size);
  const kind = v.getUint32(16, true);
  const expect = (name: keyof typeof RECORD_SIZE): string | undefined =>
    size < RECORD_SIZE[name] ? `${name} record of ${size} bytes, expected ${RECORD_SIZE[name]}` : undefined;
  let problem: string | undefined;
  let record: RawRecord | undefined;
  switch (kind) {
    case RECORD_KIND.exec:
      problem = expect('exec');
      if (!problem) {
        const r = decodeExec(v, bytes);
        if (typeof r === 'string') problem = r;
        else record = r;
      }
      break;
    case RECORD_KIND.syscall:
      problem = expect('syscall');
      if (!problem) record = { kind: 'syscall', hdr: header(v, bytes), nr: v.getUint32(48, true) };
      break;
    case RECORD_KIND.file:
      problem = expect('file');
      if (!problem) {
        const r = decodeFile(v, bytes);
        if (typeof r === 'string') problem = r;
        else record = r;
      }
      break;
    case RECORD_KIND.listen:
    case RECORD_KIND.connect: {
      const name = kind === RECORD_KIND.listen ? 'listen' : 'connect';
      problem = expect(name);
      if (!problem) record = decodeSock(name, v, bytes);
      if (!problem && !record) problem = `${name} record with unknown protocol ${v.getUint8(52)}`;
      break;
    }
    case RECORD_KIND.dns: {
      problem = expect('dns');
      const len = problem ? 0 : v.getUint32(48, true);
      if (!problem && (len > DNS_MAX || DNS_FIXED + len > size))
        problem = `dns record of ${size} bytes cannot hold ${len} payload bytes`;
      if (!problem)
        record = {
          kind: 'dns',
          hdr: header(v, bytes),
          payload: bytes.slice(DNS_FIXED, DNS_FIXED + len),
          cut: (v.getUint32(52, true) & DNS_CUT) !== 0,
          netns: Number(v.getBigUint64(56, true)),
        };
      break;
    }
    default:
      problem = `unknown record kind ${kind}`;
  }
  return record ? { ok: true, record } : { ok: false, error: problem ?? 'undecodable record' };
}

/** The kind a record claims in its header, for attributing a decode failure. */
export function recordKindName(
  buf: ArrayBuffer,
  byteOffset: number,
  size: number,
): keyof typeof RECORD_KIND | undefined {
  if (size < HDR_SIZE) return undefined;
  const kind = new DataView(buf, byteOffset, size).getUint32(16, true);
  return (Object.keys(RECORD_KIND) as (keyof typeof RECORD_KIND)[]).find((k) => RECORD_KIND[k] === kind);
}
