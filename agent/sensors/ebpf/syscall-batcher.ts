/**
 * The kernel reports each syscall a cgroup uses for the first time as its own record;
 * this folds them into one SyscallsEvent per cgroup per flush, which is the unit the
 * profile learns and the wire carries.
 */
import { unresolvedContainer, type ProcessInfo, type SyscallsEvent } from '../../../proto/events.js';

export interface SyscallBatcher {
  /**
   * Adds syscall `nr` first seen in `cgroupId` at `timeNs`; `process` is called only for
   * the first number of a batch, which the batch is attributed to.
   */
  add(cgroupId: number, nr: number, process: () => ProcessInfo, timeNs: number): void;
  /** One event per cgroup with pending numbers, ascending; clears the pending set. */
  flush(): SyscallsEvent[];
  /** Cgroups with pending numbers. */
  readonly pending: number;
}

export type SyscallNames = (nr: number) => string;

interface Pending {
  readonly numbers: Set<number>;
  /** The first process seen: the event attributes the batch to it. */
  readonly process: ProcessInfo;
  readonly timeNs: number;
}

export function createSyscallBatcher(names: SyscallNames, arch = 'x86_64'): SyscallBatcher {
  let byCgroup = new Map<number, Pending>();
  return {
    add(cgroupId, nr, process, timeNs) {
      let p = byCgroup.get(cgroupId);
      if (!p) {
        p = { numbers: new Set(), process: process(), timeNs };
        byCgroup.set(cgroupId, p);
      }
      p.numbers.add(nr);
    },
    flush() {
      const out: SyscallsEvent[] = [];
      for (const [cgroupId, p] of byCgroup) {
        const numbers = [...p.numbers].sort((a, b) => a - b);
        out.push({
          kind: 'syscalls',
          timeNs: p.timeNs,
          node: '',
          seq: 0,
          container: unresolvedContainer(cgroupId),
          process: p.process,
          numbers,
          names: numbers.map(names),
          arch,
        });
      }
      byCgroup = new Map();
      return out;
    },
    get pending() {
      return byCgroup.size;
    },
  };
}

/**
 * Syscall names from the table the BPF build generates from the uapi header
 * (agent/bpf/.output/syscalls-x86_64.json); numbers the table lacks (a kernel newer
 * than the header) are named "syscall_<nr>" rather than dropped.
 */
export function syscallNamesFromTable(table: Readonly<Record<string, string>>): SyscallNames {
  const names = new Map<number, string>();
  for (const [nr, name] of Object.entries(table)) names.set(Number(nr), name);
  return (nr) => names.get(nr) ?? `syscall_${nr}`;
}
