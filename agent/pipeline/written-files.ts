/**
 * Which files each container wrote since it started, so an exec of one of them is sent
 * marked writtenByContainer (the collector's dropped-binary-exec rule). The agent keeps
 * this, not the collector: it sees every write before de-duplication (write, unlink,
 * write again is a repeat to dedup, but the file exists again), and the work is spread
 * over the nodes instead of landing on the collector's hot path.
 *
 * Keyed by cgroup id, because a cgroup is one container's lifetime. Bounded both ways:
 * per container the oldest written paths are forgotten first, and across the node a
 * total of paths is kept, by forgetting the least recently writing containers (a node
 * running one CI job after another would otherwise keep every finished job's files).
 */
import type { ExecEvent, FileWriteEvent } from '../../proto/events.js';

export interface WrittenFiles {
  /** Folds in a file event: creations and writes add the path, unlink removes it, rename moves it. */
  note(event: FileWriteEvent): void;
  /** True when the exec'd file is one its container wrote (and did not remove since). */
  wasWritten(event: ExecEvent): boolean;
  /** Containers tracked now. */
  readonly containers: number;
  /** Paths remembered now, across containers. */
  readonly paths: number;
}

export interface WrittenFilesOptions {
  /** Paths remembered per container. */
  readonly maxPathsPerContainer: number;
  /** Paths remembered across all containers of the node. */
  readonly maxPaths: number;
}

interface ContainerFiles {
  readonly paths: Set<string>;
  /** Value of the activity counter at the last write; eviction removes the lowest. */
  touched: number;
}

export function createWrittenFiles(opts: WrittenFilesOptions): WrittenFiles {
  const { maxPathsPerContainer, maxPaths } = opts;
  const byCgroup = new Map<number, ContainerFiles>();
  let activity = 0;
  let total = 0;

  /**
   * Forgets the least recently writing containers until a tenth of the budget is free, so
   * the sort is paid once per many writes. The writing container goes last.
   */
  function evict(writing: ContainerFiles): void {
    const oldest = [...byCgroup].sort((a, b) => a[1].touched - b[1].touched);
    const target = maxPaths - Math.max(1, Math.floor(maxPaths / 10));
    for (const [id, c] of oldest) {
      if (total <= target) return;
      if (c === writing) continue;
      total -= c.paths.size;
      byCgroup.delete(id);
    }
    // Only the writing container is left over budget: trim its oldest paths.
    for (const p of writing.paths) {
      if (total <= target) return;
      writing.paths.delete(p);
      total--;
    }
  }

  function add(cgroupId: number, path: string): void {
    let c = byCgroup.get(cgroupId);
    if (!c) byCgroup.set(cgroupId, (c = { paths: new Set(), touched: 0 }));
    c.touched = ++activity;
    if (c.paths.has(path)) return;
    c.paths.add(path);
    total++;
    if (c.paths.size > maxPathsPerContainer) {
      c.paths.delete(c.paths.values().next().value!);
      total--;
    }
    if (total > maxPaths) evict(c);
  }

  function remove(cgroupId: number, path: string): boolean {
    const c = byCgroup.get(cgroupId);
    if (!c?.paths.delete(path)) return false;
    total--;
    return true;
  }

  return {
    note(e) {
      if (!e.resolved) return;
      const id = e.container.cgroupId;
      switch (e.op) {
        case 'open-write':
          add(id, e.path);
          return;
        case 'rename':
          // Only a rename of a file the container wrote carries its content along;
          // renaming an image file (mv /bin/ls /bin/x) does not make it a dropped binary,
          // and replaces whatever the container had written at the target.
          if (remove(id, e.oldPath)) add(id, e.path);
          else remove(id, e.path);
          return;
        case 'unlink':
          remove(id, e.path);
          return;
        case 'chmod':
          return;
      }
    },
    wasWritten(e) {
      return byCgroup.get(e.container.cgroupId)?.paths.has(e.process.exe) ?? false;
    },
    get containers() {
      return byCgroup.size;
    },
    get paths() {
      return total;
    },
  };
}
