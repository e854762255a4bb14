/**
 * IPv4 and IPv6 prefix matching for the configured network → tier map. IPv4-mapped IPv6
 * addresses ("::ffff:1.2.3.4", as dual-stack sockets report them) match IPv4 prefixes.
 */
import { isIP } from 'node:net';
import { ipToBytes } from '../../proto/codec.js';

export interface Cidr {
  /** Canonical text as configured, e.g. "10.0.0.0/8". */
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses "addr/len" (or a bare address as a host route); undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > max) return undefined;
  return { text: slash < 0 ? `${addr}/${max}` : text, bytes: ipToBytes(addr), prefix };
}

/** Address bytes with IPv4-mapped IPv6 reduced to 4 bytes; empty when not an address. */
export function addressBytes(ip: string): Uint8Array {
  const b = ipToBytes(ip);
  if (b.length === 16 && b[10] === 0xff && b[11] === 0xff && b.subarray(0, 10).every((x) => x === 0)) return b.subarray(12);
  return b;
}

/** True when `addr` (from addressBytes) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, addr: Uint8Array): boolean {
  if (addr.length !== cidr.bytes.length) return false;
  const whole = cidr.prefix >> 3;
  for (let i = 0; i < whole; i++) if (addr[i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[whole]! & mask) === (cidr.bytes[whole]! & mask);
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(addr: Uint8Array): boolean {
  if (addr.length === 4) return addr[0] === 127;
  if (addr.length !== 16) return false;
  for (let i = 0; i < 15; i++) if (addr[i] !== 0) return false;
  return addr[15] === 1;
}
