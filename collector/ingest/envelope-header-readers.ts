/**
 * Readers for the header sub-messages of an Envelope (Container with its WorkloadRef,
 * Process), field by field as events.proto numbers them.
 */
import { unresolvedContainer, type ContainerInfo, type ProcessInfo, type WorkloadRef } from '../../proto/events.js';
import type { WireCursor } from './wire-cursor.js';

/** Shared empty list for absent repeated strings (decoded events are read-only). */
export const NO_STRINGS: readonly string[] = Object.freeze([]);

/** Reads the Container in [c.pos, stop). */
export function decodeContainer(c: WireCursor, stop: number): ContainerInfo {
  const outerEnd = c.end;
  c.end = stop;
  const info = unresolvedContainer(0);
  while (c.pos < stop) {
    const tag = c.uint32();
    switch (tag >>> 3) {
      case 1:
        c.expect(tag, 0);
        (info as { cgroupId: number }).cgroupId = c.uint64();
        break;
      case 2:
        c.expect(tag, 2);
        info.cgroupPath = c.string();
        break;
      case 3:
        c.expect(tag, 2);
        info.containerId = c.string();
        break;
      case 4:
        c.expect(tag, 2);
        info.podUid = c.string();
        break;
      case 5:
        c.expect(tag, 2);
        info.workload = readWorkload(c);
        break;
      case 6:
        c.expect(tag, 2);
        info.image = c.string();
        break;
      case 7:
        c.expect(tag, 2);
        info.imageDigest = c.string();
        break;
      case 8:
        c.expect(tag, 0);
        info.privileged = c.bool();
        break;
      default:
        c.skip(tag & 7);
    }
  }
  c.end = outerEnd;
  return info;
}

function readWorkload(c: WireCursor): WorkloadRef {
  const stop = c.delimited();
  const outerEnd = c.end;
  c.end = stop;
  const w = ['', '', '', '', ''];
  while (c.pos < stop) {
    const tag = c.uint32();
    const f = tag >>> 3;
    if (f >= 1 && f <= 5) {
      c.expect(tag, 2);
      w[f - 1] = c.string();
    } else c.skip(tag & 7);
  }
  c.end = outerEnd;
  return { cluster: w[0]!, namespace: w[1]!, kind: w[2]!, name: w[3]!, container: w[4]! };
}

/** Reads a length-delimited Process. */
export function readProcess(c: WireCursor): ProcessInfo {
  const stop = c.delimited();
  const outerEnd = c.end;
  c.end = stop;
  let pid = 0;
  let ppid = 0;
  let uid = 0;
  let exe = '';
  let comm = '';
  let argv: string[] | undefined;
  while (c.pos < stop) {
    const tag = c.uint32();
    switch (tag >>> 3) {
      case 1:
        c.expect(tag, 0);
        pid = c.uint32();
        break;
      case 2:
        c.expect(tag, 0);
        ppid = c.uint32();
        break;
      case 3:
        c.expect(tag, 0);
        uid = c.uint32();
        break;
      case 4:
        c.expect(tag, 2);
        exe = c.string();
        break;
      case 5:
        c.expect(tag, 2);
        comm = c.string();
        break;
      case 6:
        c.expect(tag, 2);
        (argv ??= []).push(c.string());
        break;
      default:
        c.skip(tag & 7);
    }
  }
  c.end = outerEnd;
  return { pid, ppid, uid, exe, comm, argv: argv ?? NO_STRINGS };
}
