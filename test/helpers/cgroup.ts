/**
 * Real cgroup v2 directories named the way the kubelet and container runtimes name them,
 * with real processes inside, for tests that check kernel attribution (cgroup id) and
 * container resolution (cgroup path → container id, pod uid). Needs root.
 *
 * Usage:
 *   const sandbox = createCgroupSandbox();
 *   afterAll(() => sandbox.cleanup());
 *   const cg = sandbox.container('containerd');
 *   const r = await cg.run('/bin/true', []);   // runs inside the cgroup from its first instruction
 *   expect(event.container.cgroupId).toBe(cg.id);
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** How the runtime names the container's cgroup. The first three use the systemd driver. */
export type CgroupRuntime = 'containerd' | 'crio' | 'docker' | 'cgroupfs';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** Options for a container cgroup; ids are random when omitted. */
export interface ContainerCgroupOptions {
  readonly qos?: QosClass;
  /** Pod UID with dashes, e.g. "0f1e…-…". */
  readonly podUid?: string;
  /** 64 lowercase hex characters. */
  readonly containerId?: string;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A container-like cgroup v2 directory and a way to run processes inside it. */
export interface TestContainerCgroup {
  readonly runtime: CgroupRuntime;
  /** Absolute directory, e.g. /sys/fs/cgroup/kubepods.slice/…/cri-containerd-<id>.scope. */
  readonly dir: string;
  /** Path below the cgroup v2 root, with a leading "/". */
  readonly path: string;
  /** The cgroup id the kernel reports (inode of `dir`). */
  readonly id: number;
  readonly containerId: string;
  readonly podUid: string;
  /** Starts `cmd args` already inside this cgroup (it joins before exec). */
  spawn(cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Runs `cmd args` inside this cgroup to completion, collecting its output. */
  run(cmd: string, args: readonly string[], opts?: SpawnOptions): Promise<RunResult>;
}

/** Owns the cgroups it creates and removes them, with their processes, in cleanup(). */
export interface CgroupSandbox {
  /** Creates a new container cgroup (and any missing parents) named like `runtime` does. */
  container(runtime: CgroupRuntime, opts?: ContainerCgroupOptions): TestContainerCgroup;
  /** Kills every process in the created cgroups and removes them leaf → root; never throws. */
  cleanup(): Promise<void>;
}

let cachedRoot: string | undefined;

/** The cgroup v2 mount: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function cgroupV2Root(): string {
  if (cachedRoot) return cachedRoot;
  for (const candidate of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      if (fs.statfsSync(candidate).type === CGROUP2_SUPER_MAGIC && fs.existsSync(`${candidate}/cgroup.controllers`)) {
        cachedRoot = candidate;
        return candidate;
      }
    } catch {
      // not mounted here; try the next candidate
    }
  }
  throw new Error('no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified');
}

/** Path segments below the v2 root for a container, as the kubelet and runtime name them. */
export function kubeletCgroupSegments(
  runtime: CgroupRuntime,
  qos: QosClass,
  podUid: string,
  containerId: string,
): string[] {
  if (runtime === 'cgroupfs') {
    const qosDir = qos === 'guaranteed' ? [] : [qos];
    return ['kubepods', ...qosDir, `pod${podUid}`, containerId];
  }
  // The systemd driver escapes "-" in the pod UID as "_" because "-" nests slices.
  const uid = podUid.replaceAll('-', '_');
  const prefix = { containerd: 'cri-containerd', crio: 'crio', docker: 'docker' }[runtime];
  const scope = `${prefix}-${containerId}.scope`;
  if (qos === 'guaranteed') return ['kubepods.slice', `kubepods-pod${uid}.slice`, scope];
  return ['kubepods.slice', `kubepods-${qos}.slice`, `kubepods-${qos}-pod${uid}.slice`, scope];
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** mkdir that tolerates another test removing a shared parent at the same moment. */
function mkdirRetrying(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(dir);
      return;
    } catch (err) {
      if (errno(err) === 'EEXIST') return;
      if (errno(err) !== 'ENOENT' || attempt >= 5) throw err;
      mkdirRetrying(path.dirname(dir));
    }
  }
}

function readProcs(dir: string): number[] {
  try {
    return fs.readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function createCgroupSandbox(): CgroupSandbox {
  const root = cgroupV2Root();
  // Directories this sandbox created, in creation order; removed in reverse.
  const created: string[] = [];
  const leaves: string[] = [];
  const children = new Set<ChildProcess>();

  function ensureDir(dir: string): void {
    if (fs.existsSync(dir)) return;
    ensureDir(path.dirname(dir));
    if (!fs.existsSync(dir)) {
      mkdirRetrying(dir);
      created.push(dir);
    }
  }

  function spawnIn(dir: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    // The shell moves itself into the cgroup and then execs the command, so the command
    // (same pid) is in the cgroup before its first instruction.
    const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, cmd, ...args], opts);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  }

  function runIn(dir: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawnIn(dir, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  return {
    container(runtime, opts = {}) {
      const qos = opts.qos ?? 'burstable';
      const podUid = opts.podUid ?? randomUUID();
      const containerId = opts.containerId ?? randomBytes(32).toString('hex');
      const segments = kubeletCgroupSegments(runtime, qos, podUid, containerId);
      const dir = path.join(root, ...segments);
      ensureDir(dir);
      leaves.push(dir);
      return {
        runtime,
        dir,
        path: `/${segments.join('/')}`,
        id: fs.statSync(dir).ino,
        containerId,
        podUid,
        spawn: (cmd, args, o) => spawnIn(dir, cmd, args, o),
        run: (cmd, args, o) => runIn(dir, cmd, args, o),
      };
    },

    async cleanup() {
      for (const child of children) child.kill('SIGKILL');
      for (const dir of leaves) {
        try {
          fs.writeFileSync(`${dir}/cgroup.kill`, '1');
        } catch {
          for (const pid of readProcs(dir)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        }
        await waitFor(() => readProcs(dir).length === 0, { timeoutMs: 5000, what: `${dir} to empty` }).catch(() => {});
      }
      // Remove each leaf and then its now-empty ancestors up to the v2 root, including
      // shared parents another sandbox created (rmdir fails on a cgroup still in use).
      const toRemove = new Set<string>(created.reverse());
      for (const leaf of leaves) {
        for (let d = leaf; d.startsWith(`${root}/`) && d !== root; d = path.dirname(d)) toRemove.add(d);
      }
      const deepestFirst = [...toRemove].sort((a, b) => b.split('/').length - a.split('/').length);
      for (const dir of deepestFirst) {
        try {
          fs.rmdirSync(dir);
        } catch (err) {
          if (!['ENOENT', 'EBUSY', 'ENOTEMPTY'].includes(errno(err) ?? '')) {
            console.error(`cgroup cleanup: cannot remove ${dir}: ${String(err)}`);
          }
        }
      }
      created.length = 0;
      leaves.length = 0;
    },
  };
}
