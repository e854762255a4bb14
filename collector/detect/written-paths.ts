/**
 * Which files each container wrote since it started, so an exec of one of them can be
 * flagged (dropped-binary-exec). Keyed by node and cgroup id because a cgroup is one
 * container's lifetime. Bounded both ways: per container the oldest written paths are
 * forgotten first; across containers the least recently active ones are. A rewrite of a
 * known path costs one Set lookup — file writes are the busiest event kind.
 */
import type { ExecEvent, FileWriteEvent } from '../../proto/events.js';

export interface WrittenPaths {
  /**
   * Folds in a file event: creations and writes add the path, unlink removes it, rename
   * moves it. `path` is event.path or a string equal to it that the caller already holds
   * (the profile's key): remembering that one costs no extra copy, and comparing against
   * it is a pointer compare.
   */
  note(event: FileWriteEvent, path?: string): void;
  /** True when the exec'd file is one this container wrote. */
  wasWritten(event: ExecEvent): boolean;
  /** Containers tracked now. */
  readonly containers: number;
}

export interface WrittenPathsOptions {
  /** Paths remembered per container (default 1024). */
  readonly maxPathsPerContainer?: number;
  /** Containers remembered (default 20000). */
  readonly maxContainers?: number;
}

interface ContainerPaths {
  readonly paths: Set<string>;
  /** Value of the activity counter at the last write; eviction removes the lowest. */
  touched: number;
}

export function createWrittenPaths(opts: WrittenPathsOptions = {}): WrittenPaths {
  const maxPaths = opts.maxPathsPerContainer ?? 1024;
  const maxContainers = opts.maxContainers ?? 20_000;
  const byNode = new Map<string, Map<number, ContainerPaths>>();
  let containers = 0;
  let activity = 0;

  function find(node: string, cgroupId: number): ContainerPaths | undefined {
    return byNode.get(node)?.get(cgroupId);
  }

  function create(node: string, cgroupId: number): ContainerPaths {
    if (containers >= maxContainers) evictOldest();
    let perNode = byNode.get(node);
    if (!perNode) byNode.set(node, (perNode = new Map()));
    const c: ContainerPaths = { paths: new Set(), touched: activity };
    perNode.set(cgroupId, c);
    containers++;
    return c;
  }

  /** Drops the least recently active tenth, so eviction cost is amortised over many creations. */
  function evictOldest(): void {
    const all: { node: string; id: number; touched: number }[] = [];
    for (const [node, m] of byNode) for (const [id, c] of m) all.push({ node, id, touched: c.touched });
    all.sort((a, b) => a.touched - b.touched);
    for (const v of all.slice(0, Math.max(1, Math.floor(maxContainers / 10)))) {
      const m = byNode.get(v.node)!;
      m.delete(v.id);
      containers--;
      if (m.size === 0) byNode.delete(v.node);
    }
  }

  function add(c: ContainerPaths, path: string): void {
    c.touched = ++activity;
    if (c.paths.has(path)) return;
    c.paths.add(path);
    if (c.paths.size > maxPaths) c.paths.delete(c.paths.values().next().value!);
  }

  return {
    note(e, path = e.path) {
      if (!e.resolved) return;
      const cg = e.container.cgroupId;
      switch (e.op) {
        case 'open-write':
          add(find(e.node, cg) ?? create(e.node, cg), path);
          return;
        case 'rename': {
          // Only a rename of a file the container wrote carries its content along;
          // renaming an image file (mv /bin/ls /bin/x) does not make it a dropped binary.
          const c = find(e.node, cg);
          if (c?.paths.delete(e.oldPath)) add(c, path);
          return;
        }
        case 'unlink':
          find(e.node, cg)?.paths.delete(e.path);
          return;
        case 'chmod':
          return;
      }
    },
    wasWritten(e) {
      const c = find(e.node, e.container.cgroupId);
      return c !== undefined && c.paths.has(e.process.exe);
    },
    get containers() {
      return containers;
    },
  };
}
