import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProcessView } from '../../../../../agent/sensors/ebpf/process-view.js';

let root: string;

beforeEach(() => {
  // A /proc stand-in: <root>/<pid>/{exe,cwd,fd/<n>} are symlinks like the real ones.
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-proc-'));
  fs.mkdirSync(path.join(root, '42', 'fd'), { recursive: true });
  fs.symlinkSync('/usr/bin/app', path.join(root, '42', 'exe'));
  fs.symlinkSync('/srv/app', path.join(root, '42', 'cwd'));
  fs.symlinkSync('/var/lib/data', path.join(root, '42', 'fd', '5'));
  fs.symlinkSync('socket:[1234]', path.join(root, '42', 'fd', '6'));
  fs.mkdirSync(path.join(root, '42', 'net'));
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  fs.writeFileSync(
    path.join(root, '42', 'net', 'tcp'),
    header +
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0\n' +
      '   1: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0 20 4 30 10 -1\n',
  );
  fs.writeFileSync(
    path.join(root, '42', 'net', 'tcp6'),
    header +
      '   0: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3333 1 0 100 0 0 10 0\n',
  );
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('process view', () => {
  it('resolves paths against the cwd, a dirfd, or leaves absolute ones normalised', () => {
    const v = createProcessView(root);
    expect(v.resolve(42, -100, 'logs/app.log')).toEqual({ path: '/srv/app/logs/app.log', resolved: true });
    expect(v.resolve(42, 5, '../tmp/x')).toEqual({ path: '/var/lib/tmp/x', resolved: true });
    expect(v.resolve(42, 3, '/etc/../etc/passwd')).toEqual({ path: '/etc/passwd', resolved: true });
  });

  it('marks a path unresolved when the process or dirfd is gone or not a directory', () => {
    const v = createProcessView(root);
    expect(v.resolve(99, -100, 'x')).toEqual({ path: 'x', resolved: false });
    expect(v.resolve(42, 9, 'x')).toEqual({ path: 'x', resolved: false });
    expect(v.resolve(42, 6, 'x')).toEqual({ path: 'x', resolved: false });
  });

  it('finds a TCP listener by socket inode in /proc/<pid>/net/tcp and tcp6', () => {
    const v = createProcessView(root);
    expect(v.tcpListener(42, 1111)).toEqual({ ip: '127.0.0.1', port: 8080 });
    expect(v.tcpListener(42, 3333)).toEqual({ ip: '2001:db8::1', port: 80 });
    expect(v.tcpListener(42, 2222)).toBeUndefined(); // established, not listening
    expect(v.tcpListener(99, 1111)).toBeUndefined();
  });

  it('prefers the exe an exec event named, and bounds its cache', () => {
    const v = createProcessView(root, 2);
    expect(v.exe(42)).toBe('/usr/bin/app');
    v.noteExec(42, '/opt/app/run.sh');
    expect(v.exe(42)).toBe('/opt/app/run.sh');
    v.noteExec(1, '/a');
    v.noteExec(2, '/b'); // evicts pid 42's entry: back to /proc
    expect(v.exe(42)).toBe('/usr/bin/app');
    expect(v.exe(99)).toBe('');
    expect(v.cwd(42)).toBe('/srv/app');
  });
});
