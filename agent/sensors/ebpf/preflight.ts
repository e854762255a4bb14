/**
 * Checks made before touching the kernel, so a failed start says exactly what is missing
 * (privileges, kernel BTF, tracefs, the built object, libbpf) in one error instead of an
 * errno from the middle of a load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const OBJECT_RELATIVE_PATH = 'agent/bpf/.output/tripline.bpf.o';
export const BUILD_COMMAND = 'npm run bpf (make -C agent/bpf)';
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;
const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/**
 * The BPF object to load: the explicit option, else $TRIPLINE_BPF_OBJECT, else the first
 * agent/bpf/.output/tripline.bpf.o found walking up from this module (agent/… under tsx,
 * dist/agent/… after tsc). When none exists, the path it would be built at.
 */
export function locateBpfObject(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.TRIPLINE_BPF_OBJECT) return path.resolve(env.TRIPLINE_BPF_OBJECT);
  const here = path.dirname(fileURLToPath(import.meta.url));
  let fallback: string | undefined;
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, OBJECT_RELATIVE_PATH);
    if (fs.existsSync(candidate)) return candidate;
    if (!fallback && fs.existsSync(path.join(dir, 'package.json'))) fallback = candidate;
    if (path.dirname(dir) === dir) break;
  }
  return fallback ?? path.join(process.cwd(), OBJECT_RELATIVE_PATH);
}

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCapabilities(statusText = fs.readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function hasCap(caps: bigint, cap: number): boolean {
  return (caps & (1n << BigInt(cap))) !== 0n;
}

/** Loading a cgroup packet program (the DNS answers) needs CAP_NET_ADMIN or CAP_SYS_ADMIN. */
export function canLoadPacketPrograms(caps: bigint): boolean {
  return hasCap(caps, CAP_NET_ADMIN) || hasCap(caps, CAP_SYS_ADMIN);
}

/** The mounted tracefs, if any. */
export function findTracefs(): string | undefined {
  return TRACEFS_DIRS.find((d) => fs.existsSync(`${d}/events`));
}

export interface PreflightInput {
  readonly objectPath: string;
  readonly capabilities: bigint;
  readonly btfPath?: string;
  /** Whether libbpf.so.1 loaded, with the loader's error if not. */
  readonly libbpfError: string | undefined;
  /** The tracefs in use (after any mount attempt), with why it is missing otherwise. */
  readonly tracefs: string | undefined;
  readonly tracefsError?: string;
}

/** Every reason the sensor cannot start here; empty when it can. */
export function preflightProblems(input: PreflightInput): string[] {
  const problems: string[] = [];
  const caps = input.capabilities;
  const bpfCaps = (hasCap(caps, CAP_BPF) && hasCap(caps, CAP_PERFMON)) || hasCap(caps, CAP_SYS_ADMIN);
  if (!bpfCaps) {
    problems.push(
      `missing privileges: loading tracepoint programs needs root or CAP_BPF+CAP_PERFMON ` +
        `(CapEff is 0x${caps.toString(16)}, euid ${process.geteuid?.() ?? '?'})`,
    );
  }
  const btf = input.btfPath ?? '/sys/kernel/btf/vmlinux';
  if (!fs.existsSync(btf)) {
    problems.push(`no kernel BTF at ${btf}: CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y`);
  }
  if (!fs.existsSync(input.objectPath)) {
    problems.push(`BPF object not found at ${input.objectPath}: build it with ${BUILD_COMMAND}`);
  } else if (!fs.statSync(input.objectPath).isFile()) {
    problems.push(`BPF object path ${input.objectPath} is not a file`);
  }
  if (input.libbpfError !== undefined) {
    problems.push(`cannot load libbpf.so.1 (Debian package libbpf1): ${input.libbpfError}`);
  }
  if (!input.tracefs) {
    problems.push(
      `tracefs is not mounted at ${TRACEFS_DIRS.join(' or ')}` +
        (input.tracefsError ? ` and mounting it failed: ${input.tracefsError}` : '') +
        ': tracepoint ids are read from it (mount -t tracefs tracefs /sys/kernel/tracing)',
    );
  }
  return problems;
}
