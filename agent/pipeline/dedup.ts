/**
 * Suppresses repeats of the same observation from the same cgroup. A profile needs each
 * distinct behaviour once, not every time a worker process execs the same binary or
 * rewrites the same file; repeats are counted, not sent.
 *
 * An entry lives for `ttlMs` from when it was last *sent*, not last seen: a behaviour that
 * keeps happening is sent again once per TTL, so the collector's last-seen and counts stay
 * fresh. The set is bounded by `size` and forgets the least recently used keys first;
 * forgetting only costs an extra send.
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
      // An exec of a file the container has since written is a different observation.
      return `${e.container.cgroupId}\0exec\0${e.writtenByContainer ? 'w' : ''}\0${e.process.exe}`;
    case 'file':
      return `${e.container.cgroupId}\0file\0${e.op}\0${e.path}`;
    case 'listen':
      return `${e.container.cgroupId}\0listen\0${e.protocol}\0${e.ip}\0${e.port}`;
    case 'connect':
      // The same address under another name is another peer to the profile.
      return `${e.container.cgroupId}\0connect\0${e.protocol}\0${e.ip}\0${e.port}\0${e.dnsName}`;
    case 'syscalls':
      return undefined;
  }
}

export function createDedup(opts: { size: number; ttlMs: number; now?: () => number }): Dedup {
  const now = opts.now ?? Date.now;
  // Two generations instead of one Map in LRU order: evicting a Map's oldest key means
  // iterating from its start, which V8 makes slow after many deletes (deleted slots stay
  // until a rehash). A key used again moves to the young generation; when it fills,
  // the old one is dropped whole. At most `size` keys, O(1) per call.
  const generation = Math.max(1, Math.floor(opts.size / 2));
  let young = new Map<string, number>();
  let old = new Map<string, number>();
  return {
    isRepeat(event) {
      if (opts.size === 0 || opts.ttlMs === 0) return false;
      const key = dedupKey(event);
      if (key === undefined) return false;
      const t = now();
      let last = young.get(key);
      if (last === undefined) {
        last = old.get(key);
        if (last !== undefined) old.delete(key);
      }
      const repeat = last !== undefined && t - last < opts.ttlMs;
      young.set(key, repeat ? last! : t);
      if (young.size >= generation) {
        old = young;
        young = new Map();
      }
      return repeat;
    },
    get size() {
      return young.size + old.size;
    },
  };
}
