/**
 * Batches shaped like a busy node's: a few dozen containers with full Kubernetes
 * metadata, mostly file writes and egress, some execs (with argv), listeners and
 * syscall sets. Deterministic, so runs compare.
 */
import { createHash } from 'node:crypto';
import { encodeBatchBody, encodeEnvelope, type EncodedContainer } from '../../agent/transport/batch-encoding.js';
import { tripline } from '../../proto/codec.js';

const NODE = 'ip-10-0-12-34.eu-west-1.compute.internal';
const WORKLOADS = [
  ['shop', 'Deployment', 'cart-api', 'app', 'python3.11', 'python3'],
  ['shop', 'Deployment', 'checkout', 'server', 'java', 'java'],
  ['payments', 'StatefulSet', 'ledger', 'postgres', 'postgres', 'postgres'],
  ['ingress', 'DaemonSet', 'ingress-nginx', 'controller', 'nginx', 'nginx'],
  ['observability', 'Deployment', 'otel-collector', 'otelcol', 'otelcol-contrib', 'otelcol-contrib'],
  ['batch', 'CronJob', 'nightly-report', 'job', 'node', 'node'],
] as const;
const SYSCALLS: readonly [number, string][] = [
  [0, 'read'],
  [1, 'write'],
  [3, 'close'],
  [9, 'mmap'],
  [41, 'socket'],
  [42, 'connect'],
  [44, 'sendto'],
  [45, 'recvfrom'],
  [202, 'futex'],
  [232, 'epoll_wait'],
  [257, 'openat'],
  [262, 'newfstatat'],
];

function hex(seed: string, len: number): string {
  let out = '';
  for (let i = 0; out.length < len; i++) out += createHash('sha256').update(`${seed}/${i}`).digest('hex');
  return out.slice(0, len);
}

interface Box {
  readonly container: tripline.v1.IContainer;
  readonly exe: string;
  readonly comm: string;
}

/** 24 containers: 4 replicas of each workload. */
const BOXES: readonly Box[] = WORKLOADS.flatMap(([namespace, kind, name, container, bin, comm], w) =>
  Array.from({ length: 4 }, (_, r): Box => {
    const id = hex(`c${w}/${r}`, 64);
    const pod = hex(`p${w}/${r}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    return {
      container: {
        cgroupId: 9000 + w * 10 + r,
        cgroupPath: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${pod.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`,
        containerId: id,
        podUid: pod,
        workload: { cluster: 'prod-eu', namespace, kind, name, container },
        image: `registry.example.com/${namespace}/${name}:1.${w}.${r}`,
        imageDigest: `sha256:${hex(`i${w}`, 64)}`,
        privileged: kind === 'DaemonSet',
      },
      exe: `/usr/bin/${bin}`,
      comm,
    };
  }),
);

/** The i-th envelope of the stream: 40% file, 40% connect, 10% exec, 5% listen, 5% syscalls. */
export function realisticEnvelope(i: number): tripline.v1.IEnvelope {
  const box = BOXES[(i * 7) % BOXES.length]!;
  const pick = i % 20;
  const env: tripline.v1.IEnvelope = {
    timeUnixNano: 1_764_000_000_000_000_000 + i * 1000,
    node: NODE,
    seq: i + 1,
    container: box.container,
    process: { pid: 10_000 + (i % 500), ppid: 9_999, uid: 1000, exe: box.exe, comm: box.comm, argv: [] },
  };
  if (pick < 8) {
    env.kind = tripline.v1.EventKind.EVENT_KIND_FILE_WRITE;
    env.fileWrite = {
      op: tripline.v1.FileOp.FILE_OP_OPEN_WRITE,
      path: `/var/lib/app/cache/${hex(`f${i % 97}`, 8)}/${i % 1000}.tmp`,
      flags: 0o1101,
      resolved: true,
    };
  } else if (pick < 16) {
    env.kind = tripline.v1.EventKind.EVENT_KIND_CONNECT;
    env.connect = {
      protocol: tripline.v1.Protocol.PROTOCOL_TCP,
      remote: { ip: Uint8Array.of(10, 0, i % 16, 1 + (i % 200)), port: [443, 5432, 6379, 8080][i % 4]! },
      // Service lookups name most connects (the agent reads the cluster DNS's answers).
      dnsName: [
        'payments.prod.svc.cluster.local',
        'postgres.db.svc.cluster.local',
        'redis.cache.svc.cluster.local',
        '',
      ][i % 4]!,
    };
  } else if (pick < 18) {
    env.kind = tripline.v1.EventKind.EVENT_KIND_PROCESS_EXEC;
    env.process = { ...env.process, argv: [box.comm, '-m', 'worker', '--queue', `q${i % 8}`, '--concurrency', '4'] };
    env.processExec = { cwd: '/srv/app' };
  } else if (pick < 19) {
    env.kind = tripline.v1.EventKind.EVENT_KIND_LISTEN;
    env.listen = {
      protocol: tripline.v1.Protocol.PROTOCOL_TCP,
      local: { ip: Uint8Array.of(0, 0, 0, 0), port: 8000 + (i % 50) },
    };
  } else {
    env.kind = tripline.v1.EventKind.EVENT_KIND_SYSCALL_SET;
    const set = SYSCALLS.slice(0, 4 + (i % 8));
    env.syscallSet = { numbers: set.map(([n]) => n), names: set.map(([, s]) => s), arch: 'x86_64' };
  }
  return env;
}

/** Each container encoded once, shared by its envelopes, as the agent pipeline does. */
const ENCODED = new Map<number, EncodedContainer>(
  BOXES.map((b) => {
    const id = Number(b.container.cgroupId);
    return [id, { cgroupId: id, bytes: tripline.v1.Container.encode(b.container).finish() }];
  }),
);

/**
 * An encoded EventBatch without its batch_id. Prepending field 1 gives a complete batch:
 * protobuf concatenation, which is how agents reuse spooled bodies. 'compact' is what
 * agents send (node and containers once per batch, agent/transport/batch-encoding.ts);
 * 'full' repeats them in every envelope, which the contract also allows.
 */
export function realisticBatchBody(
  index: number,
  size: number,
  agentRunId: string,
  form: 'compact' | 'full' = 'compact',
): Buffer {
  const envelopes = Array.from({ length: size }, (_, k) => realisticEnvelope(index * size + k));
  if (form === 'compact') {
    return encodeBatchBody(
      agentRunId,
      envelopes.map((e) => ({
        // As the agent encodes an envelope: node and container are the batch's.
        bytes: encodeEnvelope({ ...e, node: '', container: null }),
        container: ENCODED.get(Number(e.container!.cgroupId))!,
      })),
      { node: NODE },
    );
  }
  const bytes = tripline.v1.EventBatch.encode({ agentRunId, envelopes }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Field 1 (batch_id, varint) followed by `body`. */
export function withBatchId(batchId: number, body: Buffer): Buffer {
  const head = tripline.v1.EventBatch.encode({ batchId }).finish();
  return Buffer.concat([head, body]);
}
