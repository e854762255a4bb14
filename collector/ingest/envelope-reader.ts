/**
 * One wire Envelope → one TriplineEvent, with eventFromWire's validation and messages
 * (proto/codec.ts stays the definition; a differential test holds this to it). Wire
 * errors throw (the batch is malformed); semantic ones come back as invalid envelopes.
 */
import { ipFromBytes, isContainerReference, isDnsName } from '../../proto/codec.js';
import type { ContainerInfo, FileOp, ProcessInfo, Protocol, TriplineEvent } from '../../proto/events.js';
import { decodeContainer, NO_STRINGS, readProcess } from './envelope-header-readers.js';
import type { WireCursor } from './wire-cursor.js';

/** Reused for every envelope: read it before the next call. */
export interface EnvelopeOutcome {
  ok: boolean;
  /** Set when ok. */
  event: TriplineEvent;
  /** Index of event.kind in EVENT_KINDS, when ok. */
  kindIndex: number;
  /** Why the envelope is invalid, when not ok. */
  error: string;
  /** A connect's dns_name was no hostname and was dropped (the connect is kept). */
  nameDropped: boolean;
}

/** The fields an EventBatch shares with its envelopes (ingest.proto, fields 5 and 6). */
export interface BatchHeader {
  /** Node of envelopes that name none. */
  node: string;
  /** Listed containers by cgroup id; the first listing of an id counts. */
  readonly containers: Map<number, ContainerInfo>;
}

export interface EnvelopeReader {
  /** Reads the envelope in [c.pos, stop) and leaves the cursor at `stop`. */
  read(c: WireCursor, stop: number, header: BatchHeader): EnvelopeOutcome;
  /** Reads a length-delimited Container the batch lists. */
  readListedContainer(c: WireCursor): ContainerInfo;
}

const PAYLOAD_NAMES = ['processExec', 'syscallSet', 'fileWrite', 'listen', 'connect'];
const FILE_OPS: readonly (FileOp | undefined)[] = [undefined, 'open-write', 'rename', 'unlink', 'chmod'];
const PROTOCOLS: readonly (Protocol | undefined)[] = [undefined, 'tcp', 'udp'];
const NO_NUMBERS: readonly number[] = Object.freeze([]);
/**
 * Containers remembered per stream (about 1 KiB each): above the largest node pod limits
 * (110 by default, several hundred on big cloud nodes) times a few containers per pod.
 * Only a node that really runs that many containers fills it, so thousands of agents
 * still fit. A decoded container that is not remembered costs the analyzer a fresh
 * resolution of its workload.
 */
const CONTAINER_CACHE_SIZE = 2048;

interface KnownContainer {
  readonly bytes: Buffer;
  readonly info: ContainerInfo;
}

export function createEnvelopeReader(): EnvelopeReader {
  const containers = new Map<number, KnownContainer>();
  const out: EnvelopeOutcome = {
    ok: false,
    event: undefined as unknown as TriplineEvent,
    kindIndex: 0,
    error: '',
    nameDropped: false,
  };

  // Payload fields of the envelope being read (the last payload on the wire wins).
  let flagA = false;
  let flagB = false;
  let text = '';
  let text2 = '';
  let num = 0;
  let num2 = 0;
  let numbers: number[] | undefined;
  let names: string[] | undefined;
  let hasAddress = false;
  let ipStart = 0;
  let ipLength = 0;

  function fail(error: string): EnvelopeOutcome {
    out.ok = false;
    out.error = error;
    return out;
  }

  function read(c: WireCursor, stop: number, header: BatchHeader): EnvelopeOutcome {
    out.nameDropped = false;
    const outerEnd = c.end;
    c.end = stop;
    let timeNs = 0;
    let node = '';
    let seq = 0;
    let kind = 0;
    let payload = 0;
    let container: ContainerInfo | undefined;
    let process: ProcessInfo | undefined;
    while (c.pos < stop) {
      const tag = c.uint32();
      const field = tag >>> 3;
      switch (field) {
        case 1:
          c.expect(tag, 0);
          timeNs = c.uint64();
          break;
        case 2:
          c.expect(tag, 2);
          node = c.string();
          break;
        case 3:
          c.expect(tag, 2);
          container = readContainer(c, header);
          break;
        case 4:
          c.expect(tag, 2);
          process = readProcess(c);
          break;
        case 5:
          c.expect(tag, 0);
          seq = c.uint64();
          break;
        case 6:
          c.expect(tag, 0);
          kind = c.int32();
          break;
        case 10:
        case 11:
        case 12:
        case 13:
        case 14:
          c.expect(tag, 2);
          payload = field;
          readPayload(c, field);
          break;
        default:
          c.skip(tag & 7);
      }
    }
    c.end = outerEnd;
    if (node === '') node = header.node;
    if (payload === 0) return fail('envelope has no payload');
    if (kind !== 0 && kind !== payload)
      return fail(`envelope kind ${kind} does not match payload ${PAYLOAD_NAMES[payload - 10]}`);
    if (!container) return fail('envelope has no container');
    process ??= { pid: 0, ppid: 0, uid: 0, exe: '', comm: '', argv: NO_STRINGS };
    out.kindIndex = payload - 10;
    switch (payload) {
      case 10:
        out.event = {
          timeNs,
          node,
          seq,
          container,
          process,
          kind: 'exec',
          argvTruncated: flagA,
          cwd: text,
          writtenByContainer: flagB,
        };
        break;
      case 11: {
        const nums = numbers ?? NO_NUMBERS;
        const syscallNames = names ?? NO_STRINGS;
        if (syscallNames.length !== 0 && syscallNames.length !== nums.length) {
          return fail('syscall_set names and numbers differ in length');
        }
        out.event = {
          timeNs,
          node,
          seq,
          container,
          process,
          kind: 'syscalls',
          numbers: nums,
          names: syscallNames,
          arch: text,
        };
        break;
      }
      case 12: {
        const op = FILE_OPS[num];
        if (!op) return fail(`file_write has unknown op ${num}`);
        if (!text) return fail('file_write has no path');
        out.event = {
          timeNs,
          node,
          seq,
          container,
          process,
          kind: 'file',
          op,
          path: text,
          oldPath: text2,
          flags: num2,
          resolved: flagA,
        };
        break;
      }
      default: {
        const k = payload === 13 ? 'listen' : 'connect';
        const protocol = PROTOCOLS[num];
        if (!protocol) return fail(`${k} has unknown protocol ${num}`);
        const ip = hasAddress ? ipText(c.buf, ipStart, ipLength) : '';
        if (!ip) return fail(`${k} address is not 4 or 16 bytes`);
        if (num2 > 65535) return fail(`${k} port ${num2} out of range`);
        if (k === 'listen') {
          out.event = { timeNs, node, seq, container, process, kind: k, protocol, ip, port: num2 };
        } else {
          // A name that is no hostname is dropped and counted; the connect is kept.
          out.nameDropped = !isDnsName(text);
          const dnsName = out.nameDropped ? '' : text;
          out.event = { timeNs, node, seq, container, process, kind: k, protocol, ip, port: num2, dnsName };
        }
      }
    }
    out.ok = true;
    return out;
  }

  function readPayload(c: WireCursor, field: number): void {
    const stop = c.delimited();
    const outerEnd = c.end;
    c.end = stop;
    flagA = flagB = hasAddress = false;
    text = text2 = '';
    num = num2 = ipStart = ipLength = 0;
    numbers = names = undefined;
    while (c.pos < stop) {
      const tag = c.uint32();
      // One switch over (payload field, sub-field) keeps this a single loop per payload.
      switch ((field << 4) | (tag >>> 3)) {
        case (10 << 4) | 1: // ProcessExec.argv_truncated
          c.expect(tag, 0);
          flagA = c.bool();
          break;
        case (10 << 4) | 2: // ProcessExec.cwd
          c.expect(tag, 2);
          text = c.string();
          break;
        case (10 << 4) | 3: // ProcessExec.written_by_container
          c.expect(tag, 0);
          flagB = c.bool();
          break;
        case (11 << 4) | 1: // SyscallSet.numbers, packed or not
          numbers ??= [];
          if ((tag & 7) === 2) {
            const end = c.delimited();
            while (c.pos < end) numbers.push(c.uint32());
          } else {
            c.expect(tag, 0);
            numbers.push(c.uint32());
          }
          break;
        case (11 << 4) | 2: // SyscallSet.names
          c.expect(tag, 2);
          (names ??= []).push(c.string());
          break;
        case (11 << 4) | 3: // SyscallSet.arch
        case (12 << 4) | 2: // FileWrite.path
        case (14 << 4) | 3: // Connect.dns_name
          c.expect(tag, 2);
          text = c.string();
          break;
        case (12 << 4) | 1: // FileWrite.op
        case (13 << 4) | 1: // Listen.protocol
        case (14 << 4) | 1: // Connect.protocol
          c.expect(tag, 0);
          num = c.int32();
          break;
        case (12 << 4) | 3: // FileWrite.old_path
          c.expect(tag, 2);
          text2 = c.string();
          break;
        case (12 << 4) | 4: // FileWrite.flags
          c.expect(tag, 0);
          num2 = c.uint32();
          break;
        case (12 << 4) | 5: // FileWrite.resolved
          c.expect(tag, 0);
          flagA = c.bool();
          break;
        case (13 << 4) | 2: // Listen.local
        case (14 << 4) | 2: // Connect.remote
          c.expect(tag, 2);
          readAddress(c);
          break;
        default:
          c.skip(tag & 7);
      }
    }
    c.end = outerEnd;
  }

  function readAddress(c: WireCursor): void {
    const stop = c.delimited();
    const outerEnd = c.end;
    c.end = stop;
    hasAddress = true;
    ipStart = ipLength = num2 = 0;
    while (c.pos < stop) {
      const tag = c.uint32();
      switch (tag >>> 3) {
        case 1: {
          c.expect(tag, 2);
          const end = c.delimited();
          ipStart = c.pos;
          ipLength = end - c.pos;
          c.pos = end;
          break;
        }
        case 2:
          c.expect(tag, 0);
          num2 = c.uint32();
          break;
        default:
          c.skip(tag & 7);
      }
    }
    c.end = outerEnd;
  }

  /**
   * A container, from the stream's cache when its bytes repeat. With a batch header, a
   * container that names only its cgroup id is the one the batch lists under that id.
   */
  function readContainer(c: WireCursor, header?: BatchHeader): ContainerInfo {
    const stop = c.delimited();
    const start = c.pos;
    const buf = c.buf;
    // Agents write cgroup_id first; that is the cache key, the bytes are the proof.
    let id = -1;
    if (start < stop && buf[start] === 0x08) {
      const outerEnd = c.end;
      c.end = stop;
      c.pos = start + 1;
      id = c.uint64();
      c.end = outerEnd;
      const listed = c.pos === stop ? header?.containers.get(id) : undefined;
      if (listed) return listed;
      const known = containers.get(id);
      if (known && known.bytes.length === stop - start && known.bytes.compare(buf, start, stop) === 0) {
        c.pos = stop;
        return known.info;
      }
    }
    c.pos = start;
    const info = decodeContainer(c, stop);
    // Default-valued fields written out still make a reference (the contract is on values).
    const listed =
      header && header.containers.size > 0 && isContainerReference(info)
        ? header.containers.get(info.cgroupId)
        : undefined;
    if (listed) return listed;
    if (id >= 0) {
      if (containers.size >= CONTAINER_CACHE_SIZE) containers.clear();
      containers.set(id, { bytes: Buffer.from(buf.subarray(start, stop)), info });
    }
    return info;
  }

  return { read, readListedContainer: (c) => readContainer(c) };
}

/** Text form of the address bytes at [start, start+length); '' unless 4 or 16 bytes. */
function ipText(buf: Buffer, start: number, length: number): string {
  if (length === 4) return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
  return length === 16 ? ipFromBytes(buf.subarray(start, start + 16)) : '';
}
