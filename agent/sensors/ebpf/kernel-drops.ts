/**
 * Reads the kernel's ring-buffer drop counters: a per-CPU array per record kind (exact)
 * and an LRU hash per (cgroup, kind) (best effort: entries can be evicted). Both are
 * cumulative in the kernel; this returns what changed since the previous read, and
 * whatever the per-cgroup map cannot account for is reported under cgroup 0.
 */
import type { Libbpf } from './libbpf.js';

/** Kernel record kind number (enum tl_kind) → dropped count. */
export type KindCounts = Map<number, number>;

export interface DropDelta {
  /** Drops since the last read, by cgroup id (0 = not attributable) and kind number. */
  readonly byCgroup: Map<number, KindCounts>;
  readonly total: number;
}

export interface KernelDropReader {
  read(): DropDelta;
}

const KIND_MAX = 7; // TL_KIND_MAX in agent/bpf/tripline.h

export function createKernelDropReader(lib: Libbpf, perKindFd: number, perCgroupFd: number): KernelDropReader {
  const cpus = lib.numPossibleCpus();
  const perCpu = Buffer.alloc(8 * Math.max(1, cpus));
  const key4 = Buffer.alloc(4);
  const cgKey = Buffer.alloc(16);
  const nextKey = Buffer.alloc(16);
  const value = Buffer.alloc(8);
  const lastKind = new Map<number, number>();
  const lastCgroup = new Map<string, number>();

  function readKinds(): Map<number, number> {
    const out = new Map<number, number>();
    for (let kind = 1; kind < KIND_MAX; kind++) {
      key4.writeUInt32LE(kind);
      if (lib.lookupElem(perKindFd, key4, perCpu) !== 0) continue;
      let sum = 0;
      for (let cpu = 0; cpu < cpus; cpu++) sum += Number(perCpu.readBigUInt64LE(cpu * 8));
      out.set(kind, sum);
    }
    return out;
  }

  function readCgroups(): Map<string, number> {
    const out = new Map<string, number>();
    let prev: Buffer | null = null;
    // Bounded by the map size; the guard stops a walk that restarts after a concurrent delete.
    for (let i = 0; i < 1_000_000 && lib.getNextKey(perCgroupFd, prev, nextKey) === 0; i++) {
      nextKey.copy(cgKey);
      if (lib.lookupElem(perCgroupFd, cgKey, value) === 0) {
        out.set(`${cgKey.readBigUInt64LE(0)}:${cgKey.readUInt32LE(8)}`, Number(value.readBigUInt64LE(0)));
      }
      prev = cgKey;
    }
    return out;
  }

  return {
    read() {
      const byCgroup = new Map<number, KindCounts>();
      const add = (cg: number, kind: number, n: number): void => {
        if (n <= 0) return;
        let m = byCgroup.get(cg);
        if (!m) byCgroup.set(cg, (m = new Map()));
        m.set(kind, (m.get(kind) ?? 0) + n);
      };
      const kinds = readKinds();
      const attributed = new Map<number, number>();
      const current = readCgroups();
      // Forget evicted entries so this map stays as bounded as the kernel's.
      for (const key of lastCgroup.keys()) if (!current.has(key)) lastCgroup.delete(key);
      for (const [key, now] of current) {
        const before = lastCgroup.get(key) ?? 0;
        // A smaller value means the entry was evicted and recreated: all of it is new.
        const delta = now >= before ? now - before : now;
        lastCgroup.set(key, now);
        const [cg, kind] = key.split(':').map(Number) as [number, number];
        add(cg, kind, delta);
        attributed.set(kind, (attributed.get(kind) ?? 0) + delta);
      }
      let total = 0;
      for (const [kind, now] of kinds) {
        const delta = now - (lastKind.get(kind) ?? 0);
        lastKind.set(kind, now);
        total += delta;
        add(0, kind, delta - (attributed.get(kind) ?? 0));
      }
      return { byCgroup, total };
    },
  };
}
