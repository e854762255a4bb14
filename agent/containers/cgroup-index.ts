/**
 * cgroup id → path. A cgroup's id is the inode number of its v2 directory (what
 * bpf_get_current_cgroup_id() returns), so one walk of the hierarchy indexes every id.
 * A miss means a cgroup created since the last walk: walk again, at most once per
 * `rewalkIntervalMs`, so a stream of events from an id that is already gone cannot turn
 * into a stream of walks.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupIndex {
  /** Path below the root ("/" for the root itself), or undefined when the id is not found. */
  pathOf(cgroupId: number): string | undefined;
  /** True while the directory at `path` still exists and still has inode `cgroupId`. */
  stillExists(cgroupId: number, path: string): boolean;
}

export interface CgroupIndexOptions {
  /** cgroup v2 mount point. */
  readonly root: string;
  readonly rewalkIntervalMs: number;
  /** Called after each walk with the number of cgroups found (for metrics). */
  readonly onWalk?: (count: number) => void;
  readonly now?: () => number;
}

/** Inode → relative path of every directory below `root`; unreadable branches are skipped. */
export function walkCgroupTree(root: string): Map<number, string> {
  const index = new Map<number, string>();
  const stack: string[] = ['/'];
  while (stack.length) {
    const rel = stack.pop()!;
    const abs = rel === '/' ? root : join(root, rel);
    try {
      index.set(statSync(abs).ino, rel);
      for (const d of readdirSync(abs, { withFileTypes: true })) {
        if (d.isDirectory()) stack.push(rel === '/' ? `/${d.name}` : `${rel}/${d.name}`);
      }
    } catch {
      // Removed while walking: the next walk will not list it either.
    }
  }
  return index;
}

export function createCgroupIndex(opts: CgroupIndexOptions): CgroupIndex {
  const now = opts.now ?? Date.now;
  let index = new Map<number, string>();
  let lastWalk = -Infinity;

  function walk(): void {
    lastWalk = now();
    index = walkCgroupTree(opts.root);
    opts.onWalk?.(index.size);
  }

  return {
    pathOf(cgroupId) {
      const hit = index.get(cgroupId);
      if (hit !== undefined) return hit;
      if (now() - lastWalk < opts.rewalkIntervalMs) return undefined;
      walk();
      return index.get(cgroupId);
    },
    stillExists(cgroupId, path) {
      try {
        return statSync(path === '/' ? opts.root : join(opts.root, path)).ino === cgroupId;
      } catch {
        return false;
      }
    },
  };
}
