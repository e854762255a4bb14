/**
 * Which names each container was told for which addresses, so a connect to an external
 * address can be reported under the name the container asked for: the collector keys the
 * egress item by that name, which stays put while a service's addresses rotate.
 *
 * Keyed by cgroup id, because resolutions are per container: two containers may get
 * different answers for one name, and the same address may stand for different names
 * (shared CDN addresses), so only the container's own most recent answer counts. And an
 * answer names a connect only from the network namespace it was received in: a process
 * can make itself a namespace of its own (unprivileged, through a user namespace), give
 * it the trusted resolver's address and answer itself there.
 *
 * An answer is kept for max(TTL, minRetentionMs): clients keep using an address well past
 * its TTL (pooled connections, resolvers in the client that cache longer), and a connect
 * shortly after a short-TTL answer is still that name. Bounded both ways: per container the
 * oldest answers are forgotten first, and across the node a total of addresses is kept, by
 * forgetting the least recently active containers (a node running one job after another
 * would otherwise keep every finished job's answers). Expired answers are dropped lazily,
 * on lookup and when a container's map is full, so nothing runs on a timer.
 */
import type { DnsResponse } from './dns-message.js';

export interface ResolvedNames {
  /** Records the addresses a container was just told for a name, in network namespace `netns`. */
  note(cgroupId: number, netns: number, response: DnsResponse, nowMs: number): void;
  /**
   * The name this container most recently resolved to `address`, while it is retained,
   * if it was answered in the network namespace `netns` connects from.
   */
  nameOf(cgroupId: number, netns: number, address: string, nowMs: number): string | undefined;
  /**
   * The answers still retained at `nowMs`, oldest first per container: what a restarted
   * agent needs so that clients reusing an address they resolved before the restart
   * (pooled connections, resolver caches in the client) keep their names.
   */
  entries(nowMs: number): ResolvedNameEntry[];
  /** Adds saved answers (as entries() gave them) that have not expired by `nowMs`. */
  restore(entries: readonly ResolvedNameEntry[], nowMs: number): void;
  /** Containers tracked now. */
  readonly containers: number;
  /** Addresses remembered now, across containers (expired ones not yet dropped included). */
  readonly addresses: number;
}

/** One retained answer, as saved across agent restarts. */
export interface ResolvedNameEntry {
  readonly cgroupId: number;
  readonly netns: number;
  readonly address: string;
  readonly name: string;
  readonly expiresAtMs: number;
}

export interface ResolvedNamesOptions {
  /** Addresses remembered per container. */
  readonly maxAddressesPerContainer: number;
  /** Addresses remembered across all containers of the node. */
  readonly maxAddresses: number;
  /** Shortest time an answer is kept, whatever its TTL. */
  readonly minRetentionMs: number;
}

interface Resolution {
  readonly name: string;
  readonly netns: number;
  readonly expiresAtMs: number;
}

interface ContainerNames {
  /** In the order the addresses were last answered: the first is the oldest. */
  readonly byAddress: Map<string, Resolution>;
  /** Value of the activity counter at the last answer or lookup hit; eviction removes the lowest. */
  touched: number;
}

/** TTLs beyond a day are held to a day: an address is re-answered long before that. */
const MAX_TTL_MS = 86_400_000;

export function createResolvedNames(opts: ResolvedNamesOptions): ResolvedNames {
  const { maxAddressesPerContainer, maxAddresses, minRetentionMs } = opts;
  const byCgroup = new Map<number, ContainerNames>();
  let activity = 0;
  let total = 0;

  /**
   * Makes room in a full container: expired answers first, then the oldest, down to nine
   * tenths of its budget, so the sweep is paid once per many answers rather than on each
   * one (a container can make itself answers as fast as it likes).
   */
  function makeRoom(c: ContainerNames, nowMs: number): void {
    for (const [address, r] of c.byAddress) {
      if (nowMs >= r.expiresAtMs) {
        c.byAddress.delete(address);
        total--;
      }
    }
    const target = maxAddressesPerContainer - Math.max(1, Math.floor(maxAddressesPerContainer / 10));
    for (const address of c.byAddress.keys()) {
      if (c.byAddress.size <= target) return;
      c.byAddress.delete(address);
      total--;
    }
  }

  /**
   * Forgets the least recently active containers until a tenth of the node budget is free,
   * so the sort is paid once per many answers. The noting container goes last.
   */
  function evict(noting: ContainerNames): void {
    const oldest = [...byCgroup].sort((a, b) => a[1].touched - b[1].touched);
    const target = maxAddresses - Math.max(1, Math.floor(maxAddresses / 10));
    for (const [id, c] of oldest) {
      if (total <= target) return;
      if (c === noting) continue;
      total -= c.byAddress.size;
      byCgroup.delete(id);
    }
    // Only the noting container is left over budget: trim its oldest answers.
    for (const address of noting.byAddress.keys()) {
      if (total <= target) return;
      noting.byAddress.delete(address);
      total--;
    }
  }

  /** note(), with the expiry given instead of derived from TTLs when `untilMs` is set. */
  function noteUntil(cgroupId: number, netns: number, response: DnsResponse, nowMs: number, untilMs?: number): void {
    if (response.answers.length === 0) return;
    let c = byCgroup.get(cgroupId);
    if (!c) byCgroup.set(cgroupId, (c = { byAddress: new Map(), touched: 0 }));
    c.touched = ++activity;
    for (const a of response.answers) {
      const expiresAtMs = untilMs ?? nowMs + Math.max(Math.min(a.ttlSeconds * 1000, MAX_TTL_MS), minRetentionMs);
      // Deleted and set again, so a renewed answer moves to the young end.
      if (c.byAddress.delete(a.address)) total--;
      else if (c.byAddress.size >= maxAddressesPerContainer) makeRoom(c, nowMs);
      c.byAddress.set(a.address, { name: response.name, netns, expiresAtMs });
      total++;
      if (total > maxAddresses) evict(c);
    }
  }

  return {
    note(cgroupId, netns, response, nowMs) {
      noteUntil(cgroupId, netns, response, nowMs);
    },
    nameOf(cgroupId, netns, address, nowMs) {
      const c = byCgroup.get(cgroupId);
      const r = c?.byAddress.get(address);
      if (!c || !r) return undefined;
      // The newest answer for the address came from another namespace: no name, which
      // errs towards an alert (the address is keyed as it is).
      if (r.netns !== netns) return undefined;
      if (nowMs >= r.expiresAtMs) {
        c.byAddress.delete(address);
        total--;
        if (c.byAddress.size === 0) byCgroup.delete(cgroupId);
        return undefined;
      }
      // A container still connecting to what it resolved is active, even if it resolved
      // long ago (a service that looks its database up once at start).
      c.touched = ++activity;
      return r.name;
    },
    entries(nowMs) {
      const out: ResolvedNameEntry[] = [];
      for (const [cgroupId, c] of byCgroup)
        for (const [address, r] of c.byAddress)
          if (nowMs < r.expiresAtMs)
            out.push({ cgroupId, netns: r.netns, address, name: r.name, expiresAtMs: r.expiresAtMs });
      return out;
    },
    restore(entries, nowMs) {
      // A saved expiry further out than any answer could give (TTLs are capped at a day
      // here) is a damaged or altered file: held to that cap.
      const latest = nowMs + Math.max(minRetentionMs, MAX_TTL_MS);
      for (const e of entries) {
        if (e.expiresAtMs <= nowMs) continue;
        // Through the same path as an answer, so every bound holds for restored ones too,
        // with the saved expiry (the retention floor must not stretch it).
        const response = { name: e.name, answers: [{ address: e.address, ttlSeconds: 0 }] };
        noteUntil(e.cgroupId, e.netns, response, nowMs, Math.min(e.expiresAtMs, latest));
      }
    },
    get containers() {
      return byCgroup.size;
    },
    get addresses() {
      return total;
    },
  };
}
