/** Builders of decoded events as an agent would send them, for analysis tests. */
import type {
  ConnectEvent,
  ContainerInfo,
  ExecEvent,
  FileOp,
  FileWriteEvent,
  ListenEvent,
  SyscallsEvent,
  WorkloadRef,
} from '../../../../proto/events.js';

export const API: WorkloadRef = {
  cluster: 'prod',
  namespace: 'payments',
  kind: 'Deployment',
  name: 'api',
  container: 'api',
};
export const API_KEY = 'prod/payments/Deployment/api/api';

export interface Where {
  workload?: WorkloadRef;
  pod?: string;
  cgroupId?: number;
  digest?: string;
  privileged?: boolean;
  node?: string;
}

function header(w: Where = {}): {
  timeNs: number;
  node: string;
  seq: number;
  container: ContainerInfo;
  process: { pid: number; ppid: number; uid: number; exe: string; comm: string; argv: string[] };
} {
  return {
    timeNs: 1_700_000_000_000_000_000,
    node: w.node ?? 'node-a',
    seq: 1,
    container: {
      cgroupId: w.cgroupId ?? 4242,
      cgroupPath: '/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope',
      containerId: 'abc',
      podUid: w.pod ?? 'pod-1',
      workload: w.workload ?? API,
      image: 'registry.example/api:1.4.2',
      imageDigest: w.digest ?? 'sha256:aaaa',
      privileged: w.privileged ?? false,
    },
    process: { pid: 310, ppid: 1, uid: 1000, exe: '/usr/local/bin/api', comm: 'api', argv: ['api'] },
  };
}

export function exec(exe: string, w?: Where): ExecEvent {
  const h = header(w);
  return {
    ...h,
    process: { ...h.process, exe, comm: exe.split('/').pop()!.slice(0, 15), argv: [exe] },
    kind: 'exec',
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  };
}

export function syscalls(names: string[], w?: Where): SyscallsEvent {
  return { ...header(w), kind: 'syscalls', numbers: names.map((_, i) => 100 + i), names, arch: 'x86_64' };
}

export function file(path: string, w?: Where, op: FileOp = 'open-write', oldPath = ''): FileWriteEvent {
  return { ...header(w), kind: 'file', op, path, oldPath, flags: 0o1101, resolved: true };
}

export function listen(port: number, w?: Where, protocol: 'tcp' | 'udp' = 'tcp'): ListenEvent {
  return { ...header(w), kind: 'listen', protocol, ip: '0.0.0.0', port };
}

export function connect(
  ip: string,
  port: number,
  w?: Where,
  protocol: 'tcp' | 'udp' = 'tcp',
  dnsName = '',
): ConnectEvent {
  return { ...header(w), kind: 'connect', protocol, ip, port, dnsName };
}
