/**
 * Text form of raw IPv4/IPv6 addresses as the kernel stores them (network byte order),
 * in RFC 5952 canonical form. IPv4-mapped IPv6 addresses are shown as IPv4, so a peer
 * has one spelling whichever socket family reached it.
 */

/** Formats 4 or 16 address bytes. */
export function formatIp(addr: Uint8Array): string {
  if (addr.length === 4) return addr.join('.');
  const isMapped = addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
  if (isMapped) return addr.subarray(12, 16).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((addr[i] ?? 0) << 8) | (addr[i + 1] ?? 0));
  // Longest run of two or more zero groups becomes "::" (first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}
