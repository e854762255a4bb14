/**
 * What the kernel records cannot carry cheaply, read from /proc when an event is decoded:
 * a process's executable (for non-exec events), its working directory, the directory
 * behind a dirfd, and the port of a listener that had none yet when the kernel saw it. Best effort: a process that already exited yields nothing, and callers
 * mark such events unresolved rather than guessing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatIp } from './ip-text.js';

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
  /** Local address of the TCP listening socket with inode `ino`, from /proc/<pid>/net/tcp{,6}. */
  tcpListener(pid: number, ino: number): { readonly ip: string; readonly port: number } | undefined;
}

const TCP_LISTEN_STATE = '0A';

/** /proc/net/tcp{,6} addresses are 32-bit words in host (little-endian) order, in hex. */
function procNetAddress(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let b = 0; b < 4; b++) {
      out[word * 4 + b] = parseInt(hex.slice(word * 8 + (3 - b) * 2, word * 8 + (4 - b) * 2), 16);
    }
  }
  return out;
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
    tcpListener(pid, ino) {
      for (const table of ['tcp', 'tcp6']) {
        let text: string;
        try {
          text = fs.readFileSync(`${procRoot}/${pid}/net/${table}`, 'utf8');
        } catch {
          return undefined;
        }
        for (const line of text.split('\n').slice(1)) {
          // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
          const f = line.trim().split(/\s+/);
          if (f[3] !== TCP_LISTEN_STATE || f[9] !== String(ino)) continue;
          const [addrHex, portHex] = (f[1] ?? '').split(':');
          if (!addrHex || !portHex) continue;
          return { ip: formatIp(procNetAddress(addrHex)), port: parseInt(portHex, 16) };
        }
      }
      return undefined;
    },
  };
  return view;
}
