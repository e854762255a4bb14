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

/** Nameserver addresses listed in a resolv.conf text, loopback ones left out. */
export function systemResolvers(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A link-local IPv6 nameserver carries its interface ("fe80::1%eth0").
    const addr = m?.[1]?.replace(/%.*$/, '');
    if (!addr || isIP(addr) === 0 || isLoopback(addr) || out.includes(addr)) continue;
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

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.toLowerCase().startsWith('::ffff:127.');
}
