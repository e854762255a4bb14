import { describe, expect, it } from 'vitest';
import type { Libbpf } from '../../../../../agent/sensors/ebpf/libbpf.js';
import { createKernelDropReader } from '../../../../../agent/sensors/ebpf/kernel-drops.js';

const PER_KIND_FD = 3;
const PER_CGROUP_FD = 4;
const CPUS = 2;

/** The two kernel maps as plain data, behind the libbpf calls the reader makes. */
function kernelMaps() {
  const perKind = new Map<number, bigint[]>(); // kind → per-CPU counts
  const perCgroup = new Map<string, bigint>(); // "cgroup:kind" → count
  const keyOf = (b: Buffer): string => `${b.readBigUInt64LE(0)}:${b.readUInt32LE(8)}`;
  const lib = {
    numPossibleCpus: () => CPUS,
    lookupElem(fd: number, key: Buffer, value: Buffer): number {
      if (fd === PER_KIND_FD) {
        const counts = perKind.get(key.readUInt32LE(0));
        if (!counts) return -1;
        counts.forEach((c, cpu) => value.writeBigUInt64LE(c, cpu * 8));
        return 0;
      }
      const v = perCgroup.get(keyOf(key));
      if (v === undefined) return -1;
      value.writeBigUInt64LE(v, 0);
      return 0;
    },
    getNextKey(_fd: number, key: Buffer | null, next: Buffer): number {
      const keys = [...perCgroup.keys()];
      const i = key ? keys.indexOf(keyOf(key)) + 1 : 0;
      const k = keys[i];
      if (k === undefined) return -1;
      const [cg, kind] = k.split(':');
      next.fill(0);
      next.writeBigUInt64LE(BigInt(cg!), 0);
      next.writeUInt32LE(Number(kind), 8);
      return 0;
    },
  } as unknown as Libbpf;
  return { lib, perKind, perCgroup };
}

describe('kernel drop reader', () => {
  it('reports per-cgroup deltas and the unattributable remainder under cgroup 0', () => {
    const k = kernelMaps();
    const reader = createKernelDropReader(k.lib, PER_KIND_FD, PER_CGROUP_FD);
    expect(reader.read()).toEqual({ byCgroup: new Map(), total: 0 });

    k.perKind.set(3, [5n, 7n]); // 12 file drops across both CPUs
    k.perCgroup.set('100:3', 8n);
    k.perCgroup.set('200:3', 3n);
    let d = reader.read();
    expect(d.total).toBe(12);
    expect(d.byCgroup).toEqual(
      new Map([
        [100, new Map([[3, 8]])],
        [200, new Map([[3, 3]])],
        [0, new Map([[3, 1]])],
      ]),
    );

    // Only what changed is reported next time.
    k.perKind.set(3, [6n, 7n]);
    k.perCgroup.set('100:3', 9n);
    d = reader.read();
    expect(d.total).toBe(1);
    expect(d.byCgroup).toEqual(new Map([[100, new Map([[3, 1]])]]));
  });

  it('treats a per-cgroup counter that went down as evicted and recreated', () => {
    const k = kernelMaps();
    const reader = createKernelDropReader(k.lib, PER_KIND_FD, PER_CGROUP_FD);
    k.perKind.set(1, [10n, 0n]);
    k.perCgroup.set('7:1', 10n);
    reader.read();
    k.perKind.set(1, [12n, 0n]);
    k.perCgroup.set('7:1', 2n);
    const d = reader.read();
    expect(d.total).toBe(2);
    expect(d.byCgroup).toEqual(new Map([[7, new Map([[1, 2]])]]));
  });
});
