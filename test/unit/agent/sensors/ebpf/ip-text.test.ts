import { describe, expect, it } from 'vitest';
import { formatIp } from '../../../../../agent/sensors/ebpf/ip-text.js';

const v6 = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

describe('formatIp', () => {
  it('formats IPv4 dotted-quad', () => {
    expect(formatIp(Uint8Array.from([127, 0, 0, 99]))).toBe('127.0.0.99');
  });

  it('formats IPv6 in RFC 5952 canonical form', () => {
    expect(formatIp(new Uint8Array(16))).toBe('::');
    expect(formatIp(v6('00000000000000000000000000000001'))).toBe('::1');
    expect(formatIp(v6('20010db8000000000000000000000001'))).toBe('2001:db8::1');
    expect(formatIp(v6('fe800000000000000000000000000000'))).toBe('fe80::');
    // A single zero group is not compressed; the longest run wins, the first on a tie.
    expect(formatIp(v6('20010db8000000010001000100010001'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIp(v6('20010000000000010000000000000001'))).toBe('2001:0:0:1::1');
    expect(formatIp(v6('20010db8000000000001000000000001'))).toBe('2001:db8::1:0:0:1');
  });

  it('shows IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(formatIp(v6('00000000000000000000ffff0a000001'))).toBe('10.0.0.1');
  });
});
