/**
 * IPv4 and IPv6 prefix matching for the configured network → tier map. IPv4-mapped IPv6
 * addresses ("::ffff:1.2.3.4", as dual-stack sockets report them) match IPv4 prefixes.
 */
import { isIP } from 'node:net';

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

/** Raw bytes of a text address: 4 for IPv4, 16 for IPv6, empty when not an address. */
export function ipToBytes(ip: string): Uint8Array {
  const family = isIP(ip);
  if (family === 4) return Uint8Array.from(ip.split('.'), Number);
  if (family !== 6) return new Uint8Array(0);
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const out = new Uint8Array(16);
  // A dotted IPv4 tail ("::ffff:1.2.3.4") fills the last four bytes.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  let groupsEnd = 8;
  if (v4) {
    out.set([+v4[1]!, +v4[2]!, +v4[3]!, +v4[4]!], 12);
    text = text.slice(0, v4.index).replace(/([^:]):$/, '$1');
    groupsEnd = 6;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...new Array<string>(groupsEnd - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Address bytes with IPv4-mapped IPv6 reduced to 4 bytes; empty when not an address. */
export function addressBytes(ip: string): Uint8Array {
  const b = ipToBytes(ip);
  if (b.length === 16 && b[10] === 0xff && b[11] === 0xff && b.subarray(0, 10).every((x) => x === 0))
    return b.subarray(12);
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
