import { describe, expect, it } from 'vitest';
import { createDedup, dedupKey } from '../../../agent/pipeline/dedup.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';

const proc = { pid: 1, ppid: 0, uid: 0, exe: '/usr/bin/app', comm: 'app', argv: [] };
const file = (cg: number, path: string, op: 'open-write' | 'unlink' = 'open-write'): TriplineEvent => ({
  kind: 'file',
  timeNs: 0,
  node: '',
  seq: 0,
  container: unresolvedContainer(cg),
  process: proc,
  op,
  path,
  oldPath: '',
  flags: 0,
  resolved: true,
});
const connect = (port: number, ip = '10.0.0.1', dnsName = ''): TriplineEvent => ({
  kind: 'connect',
  timeNs: 0,
  node: '',
  seq: 0,
  container: unresolvedContainer(1),
  process: proc,
  protocol: 'tcp',
  ip,
  port,
  dnsName,
});

describe('dedup', () => {
  it('keys file writes by path and op, sockets by protocol, address and port, per cgroup', () => {
    expect(dedupKey(file(1, '/a'))).not.toBe(dedupKey(file(1, '/a', 'unlink')));
    expect(dedupKey(file(1, '/a'))).not.toBe(dedupKey(file(2, '/a')));
    expect(dedupKey(connect(443))).not.toBe(dedupKey(connect(80)));
    expect(dedupKey(connect(443))).not.toBe(dedupKey(connect(443, '10.0.0.2')));
    expect(dedupKey(connect(443))).toBe(dedupKey({ ...connect(443), process: { ...proc, pid: 99 } }));
    // One address answered for two names is two peers to the profile.
    expect(dedupKey(connect(443, '10.0.0.1', 'a.example.com'))).not.toBe(
      dedupKey(connect(443, '10.0.0.1', 'b.example.com')),
    );
  });

  it('stays within its size and keeps keys that are still in use', () => {
    const d = createDedup({ size: 100, ttlMs: 60_000, now: () => 0 });
    d.isRepeat(file(1, '/hot'));
    for (let i = 0; i < 1000; i++) {
      d.isRepeat(file(1, `/cold/${i}`));
      // The hot key is seen again every few events: it must never be forgotten.
      if (i % 10 === 0) expect(d.isRepeat(file(1, '/hot'))).toBe(true);
      expect(d.size).toBeLessThanOrEqual(100);
    }
    expect(d.isRepeat(file(1, '/cold/0'))).toBe(false);
  });

  it('is off with size 0 or TTL 0', () => {
    for (const d of [createDedup({ size: 0, ttlMs: 1000 }), createDedup({ size: 10, ttlMs: 0 })]) {
      d.isRepeat(file(1, '/a'));
      expect(d.isRepeat(file(1, '/a'))).toBe(false);
    }
  });
});
