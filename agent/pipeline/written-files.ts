/**
 * Which files each container wrote since it started, so an exec of one of them is sent
 * marked writtenByContainer (the collector's dropped-binary-exec rule). The agent keeps
 * this, not the collector: it sees every write before de-duplication (write, unlink,
 * write again is a repeat to dedup, but the file exists again), and the work is spread
 * over the nodes instead of landing on the collector's hot path.
 *
 * Keyed by cgroup id, because a cgroup is one container's lifetime. Bounded both ways:
 * per container the oldest written paths are forgotten first; across containers the
 * least recently active ones are.
 */
import type { ExecEvent, FileWriteEvent } from '../../proto/events.js';

export interface WrittenFiles {
  /** Folds in a file event: creations and writes add the path, unlink removes it, rename moves it. */
  note(event: FileWriteEvent): void;
  /** True when the exec'd file is one its container wrote (and did not remove since). */
  wasWritten(event: ExecEvent): boolean;
  /** Containers tracked now. */
  readonly containers: number;
}

export interface WrittenFilesOptions {
  /** Paths remembered per container. */
  readonly maxPathsPerContainer: number;
  /** Containers remembered. */
  readonly maxContainers: number;
}

interface ContainerFiles {
  readonly paths: Set<string>;
  /** Value of the activity counter at the last write; eviction removes the lowest. */
  touched: number;
}

export function createWrittenFiles(opts: WrittenFilesOptions): WrittenFiles {
  const { maxPathsPerContainer, maxContainers } = opts;
  const byCgroup = new Map<number, ContainerFiles>();
  let activity = 0;

  /** Drops the least recently active tenth, so eviction cost is amortised over many creations. */
  function evictOldest(): void {
    const oldest = [...byCgroup].sort((a, b) => a[1].touched - b[1].touched);
    for (const [id] of oldest.slice(0, Math.max(1, Math.floor(maxContainers / 10)))) byCgroup.delete(id);
  }

  function add(cgroupId: number, path: string): void {
    let c = byCgroup.get(cgroupId);
    if (!c) {
      if (byCgroup.size >= maxContainers) evictOldest();
      byCgroup.set(cgroupId, (c = { paths: new Set(), touched: 0 }));
    }
    c.touched = ++activity;
    if (c.paths.has(path)) return;
    c.paths.add(path);
    if (c.paths.size > maxPathsPerContainer) c.paths.delete(c.paths.values().next().value!);
  }

  return {
    note(e) {
      if (!e.resolved) return;
      const id = e.container.cgroupId;
      switch (e.op) {
        case 'open-write':
          add(id, e.path);
          return;
        case 'rename': {
          // Only a rename of a file the container wrote carries its content along;
          // renaming an image file (mv /bin/ls /bin/x) does not make it a dropped binary,
          // and replaces whatever the container had written at the target.
          const paths = byCgroup.get(id)?.paths;
          if (paths?.delete(e.oldPath)) add(id, e.path);
          else paths?.delete(e.path);
          return;
        }
        case 'unlink':
          byCgroup.get(id)?.paths.delete(e.path);
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
  };
}
