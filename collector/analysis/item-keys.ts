/**
 * Generalised profile keys for raw observations, memoised: the same executables, paths,
 * ports and peers repeat millions of times, and a cache hit returns the one interned
 * key string without splitting, regex work or concatenation.
 */
import type { Protocol } from '../../proto/events.js';
import { egressKey, generalisePath, listenKey } from '../profiles/generalise.js';

export interface ItemKeys {
  path(raw: string): string;
  listen(protocol: Protocol, port: number): string;
  egress(peerId: string, protocol: Protocol, port: number): string;
}

export function createItemKeys(ephemeralPortMin: number, maxEntries = 200_000): ItemKeys {
  let paths = new Map<string, string>();
  const listens = new Map<number, string>();
  let egress = new Map<string, Map<number, string>>();
  let egressEntries = 0;
  return {
    path(raw) {
      let k = paths.get(raw);
      if (k === undefined) {
        k = generalisePath(raw);
        // Whole-map reset on overflow: cheaper than LRU bookkeeping on every hit.
        if (paths.size >= maxEntries) paths = new Map();
        paths.set(raw, k);
      }
      return k;
    },
    listen(protocol, port) {
      const slot = port * 2 + (protocol === 'udp' ? 1 : 0);
      let k = listens.get(slot);
      if (k === undefined) listens.set(slot, (k = listenKey(protocol, port, ephemeralPortMin)));
      return k;
    },
    egress(peerId, protocol, port) {
      let perPeer = egress.get(peerId);
      if (!perPeer) {
        if (egressEntries >= maxEntries) {
          egress = new Map();
          egressEntries = 0;
        }
        egress.set(peerId, (perPeer = new Map()));
      }
      const slot = port * 2 + (protocol === 'udp' ? 1 : 0);
      let k = perPeer.get(slot);
      if (k === undefined) {
        perPeer.set(slot, (k = egressKey(peerId, protocol, port, ephemeralPortMin)));
        egressEntries++;
      }
      return k;
    },
  };
}
