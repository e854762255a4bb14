/**
 * Which files each container wrote since it started, so an exec of one of them can be
 * flagged (dropped-binary-exec). Keyed by node and cgroup id because a cgroup is one
 * container's lifetime. Bounded both ways: least recently written paths and least
 * recently active containers are forgotten first.
 */
import type { ExecEvent, FileWriteEvent } from '../../proto/events.js';

export interface WrittenPaths {
  /** Folds in a file event: creations and writes add the path, unlink removes it, rename moves it. */
  note(event: FileWriteEvent): void;
  /** True when the exec'd file is one this container wrote. */
  wasWritten(event: ExecEvent): boolean;
  /** Containers tracked now (for tests and metrics). */
  readonly containers: number;
}

export interface WrittenPathsOptions {
  /** Paths remembered per container (default 1024). */
  readonly maxPathsPerContainer?: number;
  /** Containers remembered (default 20000). */
  readonly maxContainers?: number;
}

export function createWrittenPaths(opts: WrittenPathsOptions = {}): WrittenPaths {
  const maxPaths = opts.maxPathsPerContainer ?? 1024;
  const maxContainers = opts.maxContainers ?? 20_000;
  // node → cgroup id → paths in write order (Set keeps insertion order: first = oldest).
  const byNode = new Map<string, Map<number, Set<string>>>();
  let containers = 0;
  // Container recency for eviction, as "node\0cgroupId" in insertion order.
  const recency = new Set<string>();

  function pathsFor(node: string, cgroupId: number, create: boolean): Set<string> | undefined {
    let perNode = byNode.get(node);
    if (!perNode) {
      if (!create) return undefined;
      byNode.set(node, (perNode = new Map()));
    }
    let paths = perNode.get(cgroupId);
    if (!paths && create) {
      perNode.set(cgroupId, (paths = new Set()));
      containers++;
      evictContainers();
    }
    if (paths) {
      const id = `${node}\0${cgroupId}`;
      recency.delete(id);
      recency.add(id);
    }
    return paths;
  }

  function evictContainers(): void {
    while (containers > maxContainers) {
      const oldest = recency.values().next().value;
      if (oldest === undefined) return;
      recency.delete(oldest);
      const sep = oldest.indexOf('\0');
      const perNode = byNode.get(oldest.slice(0, sep));
      if (perNode?.delete(Number(oldest.slice(sep + 1)))) containers--;
      if (perNode && perNode.size === 0) byNode.delete(oldest.slice(0, sep));
    }
  }

  function add(paths: Set<string>, path: string): void {
    paths.delete(path);
    paths.add(path);
    if (paths.size > maxPaths) paths.delete(paths.values().next().value!);
  }

  return {
    note(e) {
      if (!e.resolved) return;
      const c = e.container;
      switch (e.op) {
        case 'open-write':
          add(pathsFor(e.node, c.cgroupId, true)!, e.path);
          return;
        case 'rename': {
          // Only a rename of a file the container wrote carries its content along;
          // renaming an image file (mv /bin/ls /bin/x) does not make it a dropped binary.
          const paths = pathsFor(e.node, c.cgroupId, false);
          if (paths?.delete(e.oldPath)) add(paths, e.path);
          return;
        }
        case 'unlink':
          pathsFor(e.node, c.cgroupId, false)?.delete(e.path);
          return;
        case 'chmod':
          return;
      }
    },
    wasWritten(e) {
      const paths = byNode.get(e.node)?.get(e.container.cgroupId);
      return paths !== undefined && paths.has(e.process.exe);
    },
    get containers() {
      return containers;
    },
  };
}
