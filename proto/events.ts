/**
 * The decoded form of the event contract (proto/tripline/v1/events.proto). Wire messages
 * are converted once at the boundary (see codec.ts); everything inside Tripline switches
 * on `kind` of these plain objects.
 */

/** Observation kinds, one per Envelope payload case. */
export const EVENT_KINDS = ['exec', 'syscalls', 'file', 'listen', 'connect'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Identifies the unit a behavioural profile is learned for. */
export interface WorkloadRef {
  /** Cluster name ("local" for the embedded default). */
  readonly cluster: string;
  /** Kubernetes namespace; empty off Kubernetes. */
  readonly namespace: string;
  /** Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod; "cgroup" off Kubernetes. */
  readonly kind: string;
  /** Owner name, or the cgroup path off Kubernetes (e.g. "system.slice/nginx.service"). */
  readonly name: string;
  /** Container name within the pod; empty off Kubernetes. */
  readonly container: string;
}

/** The profile id and Kafka key of a workload: "cluster/namespace/kind/name/container". */
export function workloadKey(w: WorkloadRef): string {
  return `${w.cluster}/${w.namespace}/${w.kind}/${w.name}/${w.container}`;
}

/** The process that caused an observation. */
export interface ProcessInfo {
  /** Thread-group id in the host pid namespace. */
  readonly pid: number;
  /** Parent thread-group id in the host pid namespace. */
  readonly ppid: number;
  /** Real user id. */
  readonly uid: number;
  /** Absolute executable path. */
  readonly exe: string;
  /** Kernel task name (≤ 15 bytes). */
  readonly comm: string;
  /** Bounded argument vector (exec events; empty otherwise). */
  readonly argv: readonly string[];
}

/** Where an observation happened. Sensors fill `cgroupId`; the resolver fills the rest. */
export interface ContainerInfo {
  /** Inode of the cgroup v2 directory (kernfs ids stay far below 2^53). */
  readonly cgroupId: number;
  /** Path below the cgroup v2 root, e.g. "/kubepods.slice/…/cri-containerd-<id>.scope". */
  cgroupPath: string;
  /** Runtime container id; empty off-container. */
  containerId: string;
  /** Pod UID; empty off Kubernetes. */
  podUid: string;
  /** Owner workload; undefined until resolved. */
  workload: WorkloadRef | undefined;
  /** Image reference, when known. */
  image: string;
  /** Image digest, when known. */
  imageDigest: string;
  /** Privileged or sharing a host namespace. */
  privileged: boolean;
}

/** Fields every observation carries. */
export interface EventHeader {
  /** Nanoseconds since the Unix epoch when the kernel observed it. */
  readonly timeNs: number;
  /** Node (or host) name. */
  node: string;
  /** Per-agent-run sequence number. */
  seq: number;
  readonly container: ContainerInfo;
  readonly process: ProcessInfo;
}

export interface ExecEvent extends EventHeader {
  readonly kind: 'exec';
  /** argv was cut to the agent's bounds. */
  readonly argvTruncated: boolean;
  /** Working directory at exec time, when known. */
  readonly cwd: string;
  /** The executable was written by this container after it started. */
  writtenByContainer: boolean;
}

export interface SyscallsEvent extends EventHeader {
  readonly kind: 'syscalls';
  /** Syscall numbers first seen in this cgroup since the last report, ascending. */
  readonly numbers: readonly number[];
  /** Names of those syscalls, same order. */
  readonly names: readonly string[];
  /** Architecture of the numbers, e.g. "x86_64". */
  readonly arch: string;
}

export const FILE_OPS = ['open-write', 'rename', 'unlink', 'chmod'] as const;
export type FileOp = (typeof FILE_OPS)[number];

export interface FileWriteEvent extends EventHeader {
  readonly kind: 'file';
  readonly op: FileOp;
  /** Absolute path when resolved; as passed to the syscall otherwise. */
  readonly path: string;
  /** Source path of a rename; empty otherwise. */
  readonly oldPath: string;
  /** open flags, or the new mode for chmod. */
  readonly flags: number;
  /** `path` is absolute. */
  readonly resolved: boolean;
}

export type Protocol = 'tcp' | 'udp';

export interface ListenEvent extends EventHeader {
  readonly kind: 'listen';
  readonly protocol: Protocol;
  /** Local address in text form ("0.0.0.0", "::", "127.0.0.1"). */
  readonly ip: string;
  readonly port: number;
}

export interface ConnectEvent extends EventHeader {
  readonly kind: 'connect';
  readonly protocol: Protocol;
  /** Remote address in text form. */
  readonly ip: string;
  readonly port: number;
  /** The name a trusted DNS resolver gave the container for `ip`; '' when none. */
  readonly dnsName: string;
}

/** One observation, discriminated on `kind`. */
export type TriplineEvent = ExecEvent | SyscallsEvent | FileWriteEvent | ListenEvent | ConnectEvent;

/** A ContainerInfo that only knows its cgroup, as a sensor produces it. */
export function unresolvedContainer(cgroupId: number): ContainerInfo {
  return {
    cgroupId,
    cgroupPath: '',
    containerId: '',
    podUid: '',
    workload: undefined,
    image: '',
    imageDigest: '',
    privileged: false,
  };
}
