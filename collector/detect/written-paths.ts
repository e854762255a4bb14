/**
 * Which files each container wrote since it started, so an exec of one of them can be
 * flagged (dropped-binary-exec). Kept per node and cgroup id, because a cgroup is one
 * container's lifetime, and handed out as a record the analyzer holds on to: file writes
 * are the busiest event kind, and a rewrite of a known path then costs one Set lookup.
 * Bounded both ways: per container the oldest written paths are forgotten first; across
 * containers the least recently active ones are, and their records stop being live.
 */
import type { FileWriteEvent } from '../../proto/events.js';

/** One container's written paths. */
export interface ContainerWrites {
  /** False once evicted: a holder must ask WrittenPaths.container() again. */
  readonly live: boolean;
}

export interface WrittenPaths {
  /** The record of a container, created empty on first use. */
  container(node: string, cgroupId: number): ContainerWrites;
  /**
   * Folds in a file event of that container: creations and writes add the path, unlink
   * removes it, rename moves it. `path` is event.path or a string equal to it that the
   * caller already holds (the profile's key): remembering that one costs no extra copy,
   * and comparing against it is a pointer compare.
   */
  note(c: ContainerWrites, event: FileWriteEvent, path?: string): void;
  /** True when the container wrote `exe` (and did not remove it since). */
  wasWritten(c: ContainerWrites, exe: string): boolean;
  /** Containers tracked now. */
  readonly containers: number;
}

export interface WrittenPathsOptions {
  /** Paths remembered per container (default 1024). */
  readonly maxPathsPerContainer?: number;
  /** Containers remembered (default 20000). */
  readonly maxContainers?: number;
}

interface WriteRecord {
  live: boolean;
  readonly paths: Set<string>;
  /** Value of the activity counter at the last write; eviction removes the lowest. */
  touched: number;
}

export function createWrittenPaths(opts: WrittenPathsOptions = {}): WrittenPaths {
  const maxPaths = opts.maxPathsPerContainer ?? 1024;
  const maxContainers = opts.maxContainers ?? 20_000;
  const byNode = new Map<string, Map<number, WriteRecord>>();
  let containers = 0;
  let activity = 0;

  /** Drops the least recently active tenth, so eviction cost is amortised over many creations. */
  function evictOldest(): void {
    const all: { node: string; id: number; touched: number }[] = [];
    for (const [node, m] of byNode) for (const [id, c] of m) all.push({ node, id, touched: c.touched });
    all.sort((a, b) => a.touched - b.touched);
    for (const v of all.slice(0, Math.max(1, Math.floor(maxContainers / 10)))) {
      const m = byNode.get(v.node)!;
      m.get(v.id)!.live = false;
      m.delete(v.id);
      containers--;
      if (m.size === 0) byNode.delete(v.node);
    }
  }

  function add(c: WriteRecord, path: string): void {
    c.touched = ++activity;
    if (c.paths.has(path)) return;
    c.paths.add(path);
    if (c.paths.size > maxPaths) c.paths.delete(c.paths.values().next().value!);
  }

  return {
    container(node, cgroupId) {
      const known = byNode.get(node)?.get(cgroupId);
      if (known) return known;
      if (containers >= maxContainers) evictOldest();
      let perNode = byNode.get(node);
      if (!perNode) byNode.set(node, (perNode = new Map()));
      const c: WriteRecord = { live: true, paths: new Set(), touched: activity };
      perNode.set(cgroupId, c);
      containers++;
      return c;
    },
    note(writes, e, path = e.path) {
      if (!e.resolved) return;
      const c = writes as WriteRecord;
      switch (e.op) {
        case 'open-write':
          add(c, path);
          return;
        case 'rename':
          // Only a rename of a file the container wrote carries its content along;
          // renaming an image file (mv /bin/ls /bin/x) does not make it a dropped binary.
          if (c.paths.delete(e.oldPath)) add(c, path);
          return;
        case 'unlink':
          c.paths.delete(e.path);
          return;
        case 'chmod':
          return;
      }
    },
    wasWritten(writes, exe) {
      return (writes as WriteRecord).paths.has(exe);
    },
    get containers() {
      return containers;
    },
  };
}
