/**
 * Which resolvers' answers the kernel side reads. A name is only as trustworthy as the
 * resolver that gave it: a workload answering its own queries could call any address
 * "api.stripe.com" and hide a connection to it. So the agent believes only the
 * configured resolvers, by default the nameservers of its own /etc/resolv.conf — in a
 * cluster the cluster DNS service, which a pod cannot answer for without forging packets
 * (CAP_NET_RAW; docs/security.md).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ipToBytes } from '../../../proto/codec.js';

/**
 * Nameserver addresses listed in a resolv.conf text, except those every network
 * namespace has a copy of: loopback, the unspecified address, and IPv6 link-local (its
 * zone names an interface, which another namespace can have too).
 */
export function systemResolvers(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const addr = /^\s*nameserver\s+(\S+)/.exec(line)?.[1];
    if (!addr || isIP(addr) === 0 || isNamespaceLocal(addr) || out.includes(addr)) continue;
    out.push(addr);
  }
  return out;
}

/** The resolvers to believe: the configured list, else those of /etc/resolv.conf. */
export function trustedResolvers(configured: readonly string[] | undefined, path = '/etc/resolv.conf'): string[] {
  if (configured !== undefined) return [...configured];
  try {
    return systemResolvers(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * Keys of the kernel's dns_resolvers map: 16 bytes, IPv4 as IPv4-mapped IPv6, the form
 * the program builds from a packet of either family.
 */
export function resolverKey(address: string): Uint8Array {
  const raw = ipToBytes(address);
  if (raw.length === 16) return raw;
  const key = new Uint8Array(16);
  key[10] = key[11] = 0xff;
  key.set(raw, 12);
  return key;
}

/** True for addresses any network namespace can have for itself (decided on the bytes, whatever the spelling). */
export function isNamespaceLocal(address: string): boolean {
  const k = resolverKey(address);
  const v4 = k.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  if (v4) return k[12] === 127 || k.subarray(12).every((b) => b === 0);
  const allZero = k.subarray(0, 15).every((b) => b === 0);
  return (allZero && (k[15] === 0 || k[15] === 1)) || (k[0] === 0xfe && (k[1]! & 0xc0) === 0x80);
}
