import { describe, expect, it } from 'vitest';
import { unresolvedContainer, type ExecEvent, type FileWriteEvent } from '../../../proto/events.js';
import { createWrittenFiles } from '../../../agent/pipeline/written-files.js';

const PROCESS = { pid: 10, ppid: 1, uid: 0, exe: '/bin/sh', comm: 'sh', argv: [] };

function file(cgroupId: number, op: FileWriteEvent['op'], path: string, oldPath = '', resolved = true): FileWriteEvent {
  const header = { timeNs: 1, node: 'n', seq: 0, container: unresolvedContainer(cgroupId), process: PROCESS };
  return { ...header, kind: 'file', op, path, oldPath, flags: 0o101, resolved };
}

function exec(cgroupId: number, exe: string): ExecEvent {
  const header = { timeNs: 1, node: 'n', seq: 0, container: unresolvedContainer(cgroupId) };
  return {
    ...header,
    process: { ...PROCESS, exe },
    kind: 'exec',
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  };
}

describe('written files', () => {
  const make = (maxPathsPerContainer = 8, maxPaths = 100) => createWrittenFiles({ maxPathsPerContainer, maxPaths });

  it('knows a written file per container, follows a rename of it, and forgets an unlinked one', () => {
    const w = make();
    w.note(file(1, 'open-write', '/tmp/dl'));
    expect(w.wasWritten(exec(1, '/tmp/dl'))).toBe(true);
    expect(w.wasWritten(exec(2, '/tmp/dl'))).toBe(false);
    w.note(file(1, 'rename', '/usr/local/bin/helper', '/tmp/dl'));
    expect(w.wasWritten(exec(1, '/usr/local/bin/helper'))).toBe(true);
    expect(w.wasWritten(exec(1, '/tmp/dl'))).toBe(false);
    w.note(file(1, 'unlink', '/usr/local/bin/helper'));
    expect(w.wasWritten(exec(1, '/usr/local/bin/helper'))).toBe(false);
  });

  it('does not treat a renamed image file, a chmod or an unresolved path as written', () => {
    const w = make();
    w.note(file(1, 'open-write', '/tmp/ls'));
    // The image's ls now replaces what the container wrote at /tmp/ls.
    w.note(file(1, 'rename', '/tmp/ls', '/bin/ls'));
    w.note(file(1, 'chmod', '/usr/bin/tool'));
    w.note(file(1, 'open-write', 'relative/x', '', false));
    expect(w.wasWritten(exec(1, '/tmp/ls'))).toBe(false);
    expect(w.wasWritten(exec(1, '/usr/bin/tool'))).toBe(false);
    expect(w.wasWritten(exec(1, 'relative/x'))).toBe(false);
  });

  it('forgets the oldest paths of a container and, past the node total, the least recently writing containers', () => {
    const w = make(2, 20);
    for (const p of ['/a', '/b', '/c']) w.note(file(1, 'open-write', p));
    expect(['/a', '/b', '/c'].map((p) => w.wasWritten(exec(1, p)))).toEqual([false, true, true]);
    for (let id = 100; id < 109; id++) for (const p of ['/x', '/y']) w.note(file(id, 'open-write', p));
    expect(w.paths).toBe(20);
    w.note(file(1, 'open-write', '/d')); // container 1 is now the most recent writer
    w.note(file(200, 'open-write', '/x')); // the 21st path: the least recent writers go
    expect(w.paths).toBeLessThanOrEqual(18);
    expect(w.wasWritten(exec(100, '/x'))).toBe(false);
    expect(w.wasWritten(exec(1, '/d'))).toBe(true);
    expect(w.wasWritten(exec(200, '/x'))).toBe(true);
  });

  it('keeps the node total exact through unlinks and renames', () => {
    const w = make();
    w.note(file(1, 'open-write', '/a'));
    w.note(file(1, 'open-write', '/b'));
    w.note(file(2, 'open-write', '/c'));
    w.note(file(1, 'open-write', '/a')); // rewritten: still one path
    expect(w.paths).toBe(3);
    w.note(file(1, 'unlink', '/a'));
    w.note(file(1, 'rename', '/z', '/b'));
    w.note(file(2, 'rename', '/c', '/bin/ls'));
    w.note(file(2, 'unlink', '/never-written'));
    expect(w.paths).toBe(1);
    expect(w.wasWritten(exec(1, '/z'))).toBe(true);
  });

  it('trims the writing container itself when it alone exceeds the node total', () => {
    const w = make(1000, 10);
    for (let i = 0; i < 25; i++) w.note(file(7, 'open-write', `/f${i}`));
    expect(w.paths).toBeLessThanOrEqual(10);
    expect(w.wasWritten(exec(7, '/f24'))).toBe(true);
    expect(w.wasWritten(exec(7, '/f0'))).toBe(false);
  });
});
