import { describe, expect, it } from 'vitest';
import { createEventBuilder } from '../../../../../agent/sensors/ebpf/event-builder.js';
import type { ProcessView } from '../../../../../agent/sensors/ebpf/process-view.js';
import type { RecordHeader } from '../../../../../agent/sensors/ebpf/records.js';

const hdr: RecordHeader = { monoNs: 1_000n, cgroupId: 77, pid: 50, ppid: 1, uid: 33, comm: 'app' };

/** A process view with fixed answers, recording which exe an exec noted. */
function view(): ProcessView & { noted: Map<number, string> } {
  const noted = new Map<number, string>();
  return {
    noted,
    exe: (pid) => noted.get(pid) ?? '/usr/bin/app',
    noteExec: (pid, exe) => void noted.set(pid, exe),
    cwd: () => '/srv/app',
    tcpListener: (_pid, ino) => (ino === 991 ? { ip: '0.0.0.0', port: 41000 } : undefined),
    resolve: (_pid, dirfd, p) =>
      p.startsWith('/')
        ? { path: p, resolved: true }
        : dirfd === -100
          ? { path: `/srv/app/${p}`, resolved: true }
          : { path: p, resolved: false },
  };
}

describe('event builder', () => {
  it('fills in the port of an autobound TCP listener from its socket inode', () => {
    const b = createEventBuilder(view(), 0n);
    const e = b.sock({ kind: 'listen', hdr, protocol: 'tcp', ip: '0.0.0.0', port: 0, sockIno: 991, netns: 0 });
    expect(e).toMatchObject({ kind: 'listen', ip: '0.0.0.0', port: 41000 });
    const gone = b.sock({ kind: 'listen', hdr, protocol: 'tcp', ip: '0.0.0.0', port: 0, sockIno: 5, netns: 0 });
    expect(gone.port).toBe(0);
  });

  it('makes an exec of a relative filename absolute against the cwd and remembers it', () => {
    const v = view();
    const b = createEventBuilder(v, 5_000n);
    const e = b.exec({
      kind: 'exec',
      hdr,
      filename: './run.sh',
      argv: ['./run.sh', '-x'],
      argvTruncated: false,
      argvMissing: true,
    });
    expect(e).toMatchObject({
      kind: 'exec',
      timeNs: 6_000,
      node: '',
      seq: 0,
      cwd: '/srv/app',
      argvTruncated: true, // argv that was never captured is reported as cut, not as empty
      writtenByContainer: false,
      container: { cgroupId: 77, containerId: '', workload: undefined },
      process: { pid: 50, ppid: 1, uid: 33, comm: 'app', exe: '/srv/app/run.sh', argv: ['./run.sh', '-x'] },
    });
    expect(v.noted.get(50)).toBe('/srv/app/run.sh');
  });

  it('resolves both rename paths and marks a cut path unresolved', () => {
    const b = createEventBuilder(view(), 0n);
    const base = { kind: 'file', hdr, flags: 0, dirfd: -100, oldDirfd: 4, truncated: false } as const;
    const rename = b.file({ ...base, op: 'rename', path: 'new.txt', oldPath: 'old.txt' });
    expect(rename).toMatchObject({ op: 'rename', path: '/srv/app/new.txt', oldPath: 'old.txt', resolved: true });
    expect(rename.process.exe).toBe('/usr/bin/app');
    const cut = b.file({ ...base, op: 'open-write', path: '/very/long', oldPath: '', truncated: true });
    expect(cut).toMatchObject({ path: '/very/long', oldPath: '', resolved: false });
  });

  it('carries socket records through as listen or connect events', () => {
    const b = createEventBuilder(view(), 0n);
    expect(
      b.sock({ kind: 'listen', hdr, protocol: 'udp', ip: '0.0.0.0', port: 5353, sockIno: 0, netns: 0 }),
    ).toMatchObject({
      kind: 'listen',
      protocol: 'udp',
      ip: '0.0.0.0',
      port: 5353,
      container: { cgroupId: 77 },
    });
  });
});
