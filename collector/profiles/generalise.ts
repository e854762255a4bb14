/**
 * Generalisation turns raw observations into stable profile keys: process ids, random
 * tokens, temp-file names and ephemeral ports vary from run to run, and a profile keyed on
 * them would never stop learning and would alert on every restart. Keys for paths are
 * globs in the syntax of policy/glob.ts (`*` = one segment or part of one), so a
 * generalised key is also a pattern that matches the paths it stands for.
 */

/** Default lowest ephemeral port (Linux ip_local_port_range starts at 32768). */
export const DEFAULT_EPHEMERAL_PORT_MIN = 32768;

const TEMP_DIRS = ['/tmp/', '/var/tmp/', '/dev/shm/', '/run/'];
const SWAP_SUFFIX = /^\.(.+)\.(?:sw[a-p]|swx|swpx)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// mktemp(1) "tmp.XXXXXXXXXX", Python tempfile "tmpXXXXXXXX", glibc mkstemp "<prefix>XXXXXX".
const MKTEMP = /^(\.?tmp\.?|sed|\.?temp)([A-Za-z0-9_]{6,12})$/i;
const EXTENSION = /\.[A-Za-z][A-Za-z0-9]{0,7}$/;
const GENERALISED_RUN = /\*(?:[._-]+\*)+/g;

/** Generalised form of an absolute path (also used for executables). */
export function generalisePath(path: string): string {
  if (path.length === 0 || path[0] !== '/') return path;
  const segments = path.split('/');
  const inTemp = TEMP_DIRS.some((d) => path.startsWith(d));
  let changed = false;
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '') continue;
    let g: string;
    if (i === 2 && segments[1] === 'proc' && /^\d+$/.test(s)) g = '*';
    else g = generaliseSegment(s, inTemp && i === segments.length - 1);
    if (g !== s) {
      segments[i] = g;
      changed = true;
    }
  }
  return changed ? segments.join('/') : path;
}

/** Generalised form of one path segment; `tempLeaf` loosens the rules for temp-dir files. */
export function generaliseSegment(s: string, tempLeaf = false): string {
  if (UUID.test(s)) return '*';
  const swap = SWAP_SUFFIX.exec(s);
  if (swap) return `.*.${s.slice(s.lastIndexOf('.') + 1)}`;
  if (s.length > 1 && s.endsWith('~')) return '*~';
  const mk = MKTEMP.exec(s);
  if (mk && looksRandom(mk[2]!, true)) return `${mk[1]}*`;
  const ext = EXTENSION.exec(s);
  const stem = ext && ext.index > 0 ? s.slice(0, ext.index) : s;
  const suffix = stem === s ? '' : s.slice(stem.length);
  if (isRandomToken(stem, tempLeaf)) return `*${suffix}`;
  // Tokens inside a segment: "core.12345", "app-7f9c2d1e.sock", "..2024_01_01_12_00_00.1".
  const parts = stem.split(/([._-]+)/);
  if (parts.length === 1) return s;
  // Short numbers inside a name are versions ("libssl.so.3", "x86_64"); long ones, or
  // many of them (a timestamp), vary per run.
  let numeric = 0;
  for (let i = 0; i < parts.length; i += 2) if (/^\d+$/.test(parts[i]!)) numeric++;
  let changed = false;
  for (let i = 0; i < parts.length; i += 2) {
    const t = parts[i]!;
    const isNumber = /^\d+$/.test(t);
    if (isNumber ? t.length >= 4 || numeric >= 3 : isRandomToken(t, tempLeaf)) {
      parts[i] = '*';
      changed = true;
    }
  }
  if (!changed) return s;
  return parts.join('').replace(GENERALISED_RUN, '*') + suffix;
}

/** Numeric, hex ids (≥ 8), or high-entropy mixed tokens (base64-ish, random suffixes). */
export function isRandomToken(t: string, loose = false): boolean {
  if (t.length === 0) return false;
  if (/^\d+$/.test(t)) return true;
  if (t.length >= 8 && /^[0-9a-f]+$/i.test(t) && /\d/.test(t) && /[a-f]/i.test(t)) return true;
  return looksRandom(t, loose);
}

function looksRandom(t: string, loose: boolean): boolean {
  if (t.length < 6) return false;
  let upper = 0;
  let lower = 0;
  let digit = 0;
  let other = 0;
  let switches = 0;
  let prev = -1;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    const cls = c >= 48 && c <= 57 ? 0 : c >= 65 && c <= 90 ? 1 : c >= 97 && c <= 122 ? 2 : 3;
    if (cls === 0) digit++;
    else if (cls === 1) upper++;
    else if (cls === 2) lower++;
    else other++;
    if (prev >= 0 && cls !== prev) switches++;
    prev = cls;
  }
  if (other > 0 && !/^[A-Za-z0-9+/=_-]+$/.test(t)) return false;
  const classes = (upper > 0 ? 1 : 0) + (lower > 0 ? 1 : 0) + (digit > 0 ? 1 : 0);
  const switchRate = switches / (t.length - 1);
  // Words and camelCase names switch character class rarely ("Log4jConfig": 5 in 10);
  // random tokens switch at roughly two of three positions.
  if (loose) return classes >= 2 && digit >= 1 && switchRate >= 0.3;
  if (t.length >= 16) return classes >= 2 && digit >= 2 && switchRate >= 0.35 && entropy(t) >= 3.5;
  return classes === 3 && digit >= 2 && switchRate >= 0.55;
}

/** Shannon entropy in bits per character. */
function entropy(t: string): number {
  const counts = new Map<string, number>();
  for (const c of t) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / t.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** "ephemeral" for ports in the ephemeral range, else the number. */
export function portKey(port: number, ephemeralMin = DEFAULT_EPHEMERAL_PORT_MIN): string {
  return port >= ephemeralMin ? 'ephemeral' : String(port);
}

/** Profile key of a listener, e.g. "tcp/8080". */
export function listenKey(protocol: string, port: number, ephemeralMin = DEFAULT_EPHEMERAL_PORT_MIN): string {
  return `${protocol}/${portKey(port, ephemeralMin)}`;
}

/** Profile key of an egress peer, e.g. "prod/db/StatefulSet/pg/pg:tcp/5432" or "203.0.113.0/24:udp/53". */
export function egressKey(
  peerId: string,
  protocol: string,
  port: number,
  ephemeralMin = DEFAULT_EPHEMERAL_PORT_MIN,
): string {
  return `${peerId}:${protocol}/${portKey(port, ephemeralMin)}`;
}
