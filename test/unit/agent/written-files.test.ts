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
  const make = (maxPathsPerContainer = 8, maxContainers = 100) =>
    createWrittenFiles({ maxPathsPerContainer, maxContainers });

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

  it('forgets the oldest paths of a container and the least recently writing containers', () => {
    const w = make(2, 10);
    for (const p of ['/a', '/b', '/c']) w.note(file(1, 'open-write', p));
    expect(['/a', '/b', '/c'].map((p) => w.wasWritten(exec(1, p)))).toEqual([false, true, true]);
    for (let id = 100; id < 109; id++) w.note(file(id, 'open-write', '/x'));
    w.note(file(1, 'open-write', '/d')); // container 1 is now the most recent writer
    w.note(file(200, 'open-write', '/x')); // the eleventh container evicts one: 100
    expect(w.containers).toBe(10);
    expect(w.wasWritten(exec(100, '/x'))).toBe(false);
    expect(w.wasWritten(exec(1, '/d'))).toBe(true);
    expect(w.wasWritten(exec(200, '/x'))).toBe(true);
  });
});
