/**
 * Suppresses repeats of the same observation from the same cgroup. A profile needs each
 * distinct behaviour once, not every time a worker process execs the same binary or
 * rewrites the same file; repeats are counted, not sent.
 *
 * An entry lives for `ttlMs` from when it was last *sent*, not last seen: a behaviour that
 * keeps happening is sent again once per TTL, so the collector's last-seen and counts stay
 * fresh. The set is an LRU bounded by `size`; eviction only costs an extra send.
 */
import type { TriplineEvent } from '../../proto/events.js';

export interface Dedup {
  /** True when the same observation was sent within the TTL (the caller drops it); otherwise records it. */
  isRepeat(event: TriplineEvent): boolean;
  readonly size: number;
}

/**
 * The identity of an observation within its cgroup, or undefined for kinds that are
 * never de-duplicated (syscall sets are already novel-only in the kernel).
 */
export function dedupKey(e: TriplineEvent): string | undefined {
  switch (e.kind) {
    case 'exec':
      return `${e.container.cgroupId}\0exec\0${e.process.exe}`;
    case 'file':
      return `${e.container.cgroupId}\0file\0${e.op}\0${e.path}`;
    case 'listen':
    case 'connect':
      return `${e.container.cgroupId}\0${e.kind}\0${e.protocol}\0${e.ip}\0${e.port}`;
    case 'syscalls':
      return undefined;
  }
}

export function createDedup(opts: { size: number; ttlMs: number; now?: () => number }): Dedup {
  const now = opts.now ?? Date.now;
  const sentAt = new Map<string, number>();
  return {
    isRepeat(event) {
      if (opts.size === 0 || opts.ttlMs === 0) return false;
      const key = dedupKey(event);
      if (key === undefined) return false;
      const t = now();
      const last = sentAt.get(key);
      // Re-inserting moves the key to the young end of the Map's insertion order (LRU).
      sentAt.delete(key);
      if (last !== undefined && t - last < opts.ttlMs) {
        sentAt.set(key, last);
        return true;
      }
      sentAt.set(key, t);
      if (sentAt.size > opts.size) sentAt.delete(sentAt.keys().next().value!);
      return false;
    },
    get size() {
      return sentAt.size;
    },
  };
}
