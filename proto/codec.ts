/**
 * The one boundary between wire messages and Tripline's plain objects. Decoding returns
 * a result instead of throwing: malformed input is normal at a network edge.
 */
import { isIP } from 'node:net';
import './protobuf-runtime.js';
import { tripline } from './gen/tripline.js';
import type { ContainerInfo, EventKind, FileOp, ProcessInfo, Protocol, TriplineEvent, WorkloadRef } from './events.js';
import type { AgentReport, DropCount, DropReason } from './report.js';

const pb = tripline.v1;

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: string };

const KIND_TO_WIRE: Record<EventKind, tripline.v1.EventKind> = {
  exec: pb.EventKind.EVENT_KIND_PROCESS_EXEC,
  syscalls: pb.EventKind.EVENT_KIND_SYSCALL_SET,
  file: pb.EventKind.EVENT_KIND_FILE_WRITE,
  listen: pb.EventKind.EVENT_KIND_LISTEN,
  connect: pb.EventKind.EVENT_KIND_CONNECT,
};
const WIRE_TO_KIND = new Map<number, EventKind>(Object.entries(KIND_TO_WIRE).map(([k, v]) => [v, k as EventKind]));
const FILE_OP_TO_WIRE: Record<FileOp, tripline.v1.FileOp> = {
  'open-write': pb.FileOp.FILE_OP_OPEN_WRITE,
  rename: pb.FileOp.FILE_OP_RENAME,
  unlink: pb.FileOp.FILE_OP_UNLINK,
  chmod: pb.FileOp.FILE_OP_CHMOD,
};
const WIRE_TO_FILE_OP = new Map<number, FileOp>(Object.entries(FILE_OP_TO_WIRE).map(([k, v]) => [v, k as FileOp]));
const DROP_TO_WIRE: Record<DropReason, tripline.v1.DropReason> = {
  ringbuf_full: pb.DropReason.DROP_REASON_RINGBUF_FULL,
  queue_full: pb.DropReason.DROP_REASON_QUEUE_FULL,
  spool_full: pb.DropReason.DROP_REASON_SPOOL_FULL,
  decode_error: pb.DropReason.DROP_REASON_DECODE_ERROR,
};
const WIRE_TO_DROP = new Map<number, DropReason>(Object.entries(DROP_TO_WIRE).map(([k, v]) => [v, k as DropReason]));

/** Text form of an address from its 4 or 16 raw bytes; '' when the length is wrong. */
export function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return '';
  const isV4Mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (isV4Mapped) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * A connect's dns_name as the contract allows it: empty, or a lower-case hostname
 * (labels of letters, digits, '-' and '_', at most 253 characters). The name becomes a
 * profile key, a policy glob's subject and an export annotation, so anything else is
 * dropped — the connect is kept, keyed by its address, which errs towards an alert.
 */
export function isDnsName(name: string): boolean {
  return name === '' || DNS_NAME.test(name);
}
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*$/;

/** Raw bytes of a text address (4 for IPv4, 16 for IPv6); empty when not an address. */
export function ipToBytes(ip: string): Uint8Array {
  const family = isIP(ip);
  if (family === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (family !== 6) return new Uint8Array(0);
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups first.
  const text = ip.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

function workloadToWire(w: WorkloadRef | undefined): tripline.v1.IWorkloadRef | null {
  return w ? { cluster: w.cluster, namespace: w.namespace, kind: w.kind, name: w.name, container: w.container } : null;
}

function workloadFromWire(w: tripline.v1.IWorkloadRef | null | undefined): WorkloadRef | undefined {
  if (!w) return undefined;
  return {
    cluster: w.cluster ?? '',
    namespace: w.namespace ?? '',
    kind: w.kind ?? '',
    name: w.name ?? '',
    container: w.container ?? '',
  };
}

export function containerToWire(c: ContainerInfo): tripline.v1.IContainer {
  return {
    cgroupId: c.cgroupId,
    cgroupPath: c.cgroupPath,
    containerId: c.containerId,
    podUid: c.podUid,
    workload: workloadToWire(c.workload),
    image: c.image,
    imageDigest: c.imageDigest,
    privileged: c.privileged,
  };
}

/**
 * Wire form of an event. With `header` 'batch', node and container are left out: an
 * agent's batch carries them once (ingest.proto, EventBatch fields 5 and 6).
 */
export function eventToWire(e: TriplineEvent, header: 'envelope' | 'batch' = 'envelope'): tripline.v1.IEnvelope {
  const inEnvelope = header === 'envelope';
  const env: tripline.v1.IEnvelope = {
    timeUnixNano: e.timeNs,
    node: inEnvelope ? e.node : '',
    seq: e.seq,
    kind: KIND_TO_WIRE[e.kind],
    container: inEnvelope ? containerToWire(e.container) : null,
    process: {
      pid: e.process.pid,
      ppid: e.process.ppid,
      uid: e.process.uid,
      exe: e.process.exe,
      comm: e.process.comm,
      argv: [...e.process.argv],
    },
  };
  switch (e.kind) {
    case 'exec':
      env.processExec = { argvTruncated: e.argvTruncated, cwd: e.cwd, writtenByContainer: e.writtenByContainer };
      break;
    case 'syscalls':
      env.syscallSet = { numbers: [...e.numbers], names: [...e.names], arch: e.arch };
      break;
    case 'file':
      env.fileWrite = {
        op: FILE_OP_TO_WIRE[e.op],
        path: e.path,
        oldPath: e.oldPath,
        flags: e.flags,
        resolved: e.resolved,
      };
      break;
    case 'listen':
      env.listen = { protocol: protocolToWire(e.protocol), local: { ip: ipToBytes(e.ip), port: e.port } };
      break;
    case 'connect':
      env.connect = {
        protocol: protocolToWire(e.protocol),
        remote: { ip: ipToBytes(e.ip), port: e.port },
        dnsName: e.dnsName,
      };
      break;
  }
  return env;
}

function protocolToWire(p: Protocol): tripline.v1.Protocol {
  return p === 'tcp' ? pb.Protocol.PROTOCOL_TCP : pb.Protocol.PROTOCOL_UDP;
}

function protocolFromWire(p: number | null | undefined): Protocol | undefined {
  if (p === pb.Protocol.PROTOCOL_TCP) return 'tcp';
  if (p === pb.Protocol.PROTOCOL_UDP) return 'udp';
  return undefined;
}

/**
 * The events of a decoded EventBatch with the batch's shared header fields applied
 * (ingest.proto: node, containers), each decoded like eventFromWire. This is the
 * definition the collector's own batch decoder is held to.
 */
export function eventsFromBatch(batch: tripline.v1.IEventBatch): DecodeResult<TriplineEvent>[] {
  const node = batch.node ?? '';
  const table = new Map<number, tripline.v1.IContainer>();
  for (const c of batch.containers ?? []) {
    const id = Number(c.cgroupId ?? 0);
    // The first entry for a cgroup id counts.
    if (!table.has(id)) table.set(id, c);
  }
  return (batch.envelopes ?? []).map((env) => {
    const c = env.container;
    const shared = c && isContainerReference(c) ? table.get(Number(c.cgroupId ?? 0)) : undefined;
    if (!shared && (env.node || !node)) return eventFromWire(env);
    // Same prototype: the oneof accessor (`payload`) lives there.
    const merged = Object.assign(Object.create(Object.getPrototypeOf(env) as object) as tripline.v1.IEnvelope, env);
    merged.node = env.node || node;
    merged.container = shared ?? c;
    return eventFromWire(merged);
  });
}

/** A container that names its cgroup id and nothing else refers to the batch's list. */
export function isContainerReference(c: tripline.v1.IContainer): boolean {
  return !c.cgroupPath && !c.containerId && !c.podUid && !c.workload && !c.image && !c.imageDigest && !c.privileged;
}

/** Decoded event from a wire envelope, or why it is not a valid one. */
export function eventFromWire(env: tripline.v1.IEnvelope): DecodeResult<TriplineEvent> {
  const payload = (env as tripline.v1.Envelope).payload;
  const kind = payload ? PAYLOAD_TO_KIND[payload] : undefined;
  if (!kind) return { ok: false, error: 'envelope has no payload' };
  if (env.kind && WIRE_TO_KIND.get(env.kind) !== kind) {
    return { ok: false, error: `envelope kind ${env.kind} does not match payload ${payload}` };
  }
  const c = env.container;
  if (!c) return { ok: false, error: 'envelope has no container' };
  const container: ContainerInfo = {
    cgroupId: Number(c.cgroupId ?? 0),
    cgroupPath: c.cgroupPath ?? '',
    containerId: c.containerId ?? '',
    podUid: c.podUid ?? '',
    workload: workloadFromWire(c.workload),
    image: c.image ?? '',
    imageDigest: c.imageDigest ?? '',
    privileged: c.privileged ?? false,
  };
  const p = env.process ?? {};
  const process: ProcessInfo = {
    pid: p.pid ?? 0,
    ppid: p.ppid ?? 0,
    uid: p.uid ?? 0,
    exe: p.exe ?? '',
    comm: p.comm ?? '',
    argv: p.argv ?? [],
  };
  const header = {
    timeNs: Number(env.timeUnixNano ?? 0),
    node: env.node ?? '',
    seq: Number(env.seq ?? 0),
    container,
    process,
  };
  switch (kind) {
    case 'exec': {
      const x = env.processExec!;
      return {
        ok: true,
        value: {
          ...header,
          kind,
          argvTruncated: x.argvTruncated ?? false,
          cwd: x.cwd ?? '',
          writtenByContainer: x.writtenByContainer ?? false,
        },
      };
    }
    case 'syscalls': {
      const x = env.syscallSet!;
      const numbers = x.numbers ?? [];
      const names = x.names ?? [];
      if (names.length !== 0 && names.length !== numbers.length) {
        return { ok: false, error: 'syscall_set names and numbers differ in length' };
      }
      return { ok: true, value: { ...header, kind, numbers, names, arch: x.arch ?? '' } };
    }
    case 'file': {
      const x = env.fileWrite!;
      const op = WIRE_TO_FILE_OP.get(x.op ?? 0);
      if (!op) return { ok: false, error: `file_write has unknown op ${x.op ?? 0}` };
      if (!x.path) return { ok: false, error: 'file_write has no path' };
      return {
        ok: true,
        value: {
          ...header,
          kind,
          op,
          path: x.path,
          oldPath: x.oldPath ?? '',
          flags: x.flags ?? 0,
          resolved: x.resolved ?? false,
        },
      };
    }
    case 'listen':
    case 'connect': {
      const x = kind === 'listen' ? env.listen! : env.connect!;
      const addr = kind === 'listen' ? (x as tripline.v1.IListen).local : (x as tripline.v1.IConnect).remote;
      const protocol = protocolFromWire(x.protocol);
      if (!protocol) return { ok: false, error: `${kind} has unknown protocol ${x.protocol ?? 0}` };
      const ip = ipFromBytes(addr?.ip ?? new Uint8Array(0));
      if (!ip) return { ok: false, error: `${kind} address is not 4 or 16 bytes` };
      const port = addr?.port ?? 0;
      if (port > 65535) return { ok: false, error: `${kind} port ${port} out of range` };
      if (kind === 'listen') return { ok: true, value: { ...header, kind, protocol, ip, port } };
      const name = env.connect!.dnsName ?? '';
      return { ok: true, value: { ...header, kind, protocol, ip, port, dnsName: isDnsName(name) ? name : '' } };
    }
  }
}

const PAYLOAD_TO_KIND: Record<string, EventKind> = {
  processExec: 'exec',
  syscallSet: 'syscalls',
  fileWrite: 'file',
  listen: 'listen',
  connect: 'connect',
};

function dropsToWire(drops: readonly DropCount[]): tripline.v1.IDropCount[] {
  return drops.map((d) => ({ kind: KIND_TO_WIRE[d.kind], reason: DROP_TO_WIRE[d.reason], count: d.count }));
}

function dropsFromWire(drops: tripline.v1.IDropCount[] | null | undefined): DropCount[] {
  const out: DropCount[] = [];
  for (const d of drops ?? []) {
    const kind = WIRE_TO_KIND.get(d.kind ?? 0);
    const reason = WIRE_TO_DROP.get(d.reason ?? 0);
    if (kind && reason) out.push({ kind, reason, count: Number(d.count ?? 0) });
  }
  return out;
}

/** Wire form of an agent report. */
export function reportToWire(r: AgentReport): tripline.v1.IAgentReport {
  return {
    node: r.node,
    agentRunId: r.agentRunId,
    intervalStartUnixNano: r.intervalStartNs,
    intervalEndUnixNano: r.intervalEndNs,
    sensor: r.sensor,
    blindSpots: [...r.blindSpots],
    unattributedDrops: dropsToWire(r.unattributedDrops),
    containers: r.containers.map((c) => ({
      cgroupId: c.cgroupId,
      workload: workloadToWire(c.workload),
      counts: c.counts.map((k) => ({
        kind: KIND_TO_WIRE[k.kind],
        seen: k.seen,
        sent: k.sent,
        deduplicated: k.deduplicated,
      })),
      drops: dropsToWire(c.drops),
    })),
  };
}

/** Decoded agent report (unknown kinds and reasons are skipped). */
export function reportFromWire(r: tripline.v1.IAgentReport): AgentReport {
  return {
    node: r.node ?? '',
    agentRunId: r.agentRunId ?? '',
    intervalStartNs: Number(r.intervalStartUnixNano ?? 0),
    intervalEndNs: Number(r.intervalEndUnixNano ?? 0),
    sensor: r.sensor ?? '',
    blindSpots: r.blindSpots ?? [],
    unattributedDrops: dropsFromWire(r.unattributedDrops),
    containers: (r.containers ?? []).map((c) => ({
      cgroupId: Number(c.cgroupId ?? 0),
      workload: workloadFromWire(c.workload),
      counts: (c.counts ?? []).flatMap((k) => {
        const kind = WIRE_TO_KIND.get(k.kind ?? 0);
        return kind
          ? [{ kind, seen: Number(k.seen ?? 0), sent: Number(k.sent ?? 0), deduplicated: Number(k.deduplicated ?? 0) }]
          : [];
      }),
      drops: dropsFromWire(c.drops),
    })),
  };
}

export { tripline };
