/**
 * What the kernel records cannot carry cheaply, read from /proc when an event is decoded:
 * a process's executable (for non-exec events), its working directory, and the directory
 * behind a dirfd. Best effort: a process that already exited yields nothing, and callers
 * mark such events unresolved rather than guessing.
 */
import fs from 'node:fs';
import path from 'node:path';

const AT_FDCWD = -100;

export interface ResolvedPath {
  /** Absolute and normalised when `resolved`; as the syscall received it otherwise. */
  readonly path: string;
  readonly resolved: boolean;
}

export interface ProcessView {
  /** Executable of `pid`: from its last exec event, else /proc/<pid>/exe; "" if gone. */
  exe(pid: number): string;
  /** Records the executable an exec event named, so later events of `pid` reuse it. */
  noteExec(pid: number, exe: string): void;
  /** Current working directory of `pid`, or "" if it cannot be read. */
  cwd(pid: number): string;
  /** Makes `p` absolute against `dirfd` (AT_FDCWD → cwd) of `pid` when it is relative. */
  resolve(pid: number, dirfd: number, p: string): ResolvedPath;
}

function readlinkOrEmpty(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '';
  }
}

/** `capacity` bounds the pid → exe cache; the oldest entry goes first. */
export function createProcessView(procRoot = '/proc', capacity = 8192): ProcessView {
  const exes = new Map<number, string>();

  function remember(pid: number, exe: string): void {
    exes.delete(pid);
    exes.set(pid, exe);
    if (exes.size > capacity) {
      const oldest = exes.keys().next().value;
      if (oldest !== undefined) exes.delete(oldest);
    }
  }

  const view: ProcessView = {
    exe(pid) {
      const known = exes.get(pid);
      if (known !== undefined) return known;
      const exe = readlinkOrEmpty(`${procRoot}/${pid}/exe`);
      // Only cache a real answer: an empty one may be a process not yet visible.
      if (exe) remember(pid, exe);
      return exe;
    },
    noteExec(pid, exe) {
      remember(pid, exe);
    },
    cwd(pid) {
      return readlinkOrEmpty(`${procRoot}/${pid}/cwd`);
    },
    resolve(pid, dirfd, p) {
      if (p.startsWith('/')) return { path: path.posix.normalize(p), resolved: true };
      const base = dirfd === AT_FDCWD ? view.cwd(pid) : readlinkOrEmpty(`${procRoot}/${pid}/fd/${dirfd}`);
      if (!base.startsWith('/')) return { path: p, resolved: false };
      return { path: path.posix.resolve(base, p), resolved: true };
    },
  };
  return view;
}
