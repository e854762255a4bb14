import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolverKey, systemResolvers, trustedResolvers } from '../../../../../agent/sensors/ebpf/dns-resolvers.js';

describe('systemResolvers', () => {
  it('lists the nameservers of resolv.conf, without loopback ones a workload could answer from', () => {
    const conf = [
      '# kubelet',
      'search prod.svc.cluster.local svc.cluster.local cluster.local',
      'nameserver 10.96.0.10',
      'nameserver 127.0.0.53',
      'nameserver ::1',
      'nameserver 0:0:0:0:0:0:0:1',
      'nameserver ::ffff:7f00:1',
      'nameserver 0.0.0.0',
      'nameserver fe80::1%eth0',
      'nameserver 10.96.0.10',
      'nameserver fd00:10:96::a',
      'nameserver not-an-address',
      'options ndots:5',
    ].join('\n');
    expect(systemResolvers(conf)).toEqual(['10.96.0.10', 'fd00:10:96::a']);
  });

  it('takes the configured list as it is, loopback included, and reads resolv.conf otherwise', () => {
    expect(trustedResolvers(['127.0.0.153'])).toEqual(['127.0.0.153']);
    expect(trustedResolvers([])).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'tripline-resolv-'));
    try {
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 169.254.20.10\n');
      expect(trustedResolvers(undefined, join(dir, 'resolv.conf'))).toEqual(['169.254.20.10']);
      expect(trustedResolvers(undefined, join(dir, 'missing'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resolverKey', () => {
  it('gives both families the 16-byte form the kernel program builds from a packet', () => {
    expect([...resolverKey('10.96.0.10')]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 96, 0, 10]);
    expect([...resolverKey('fd00::a')]).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
  });
});
