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
