import { describe, expect, it } from 'vitest';
import type { ProcessInfo } from '../../../../../proto/events.js';
import { createSyscallBatcher, syscallNamesFromTable } from '../../../../../agent/sensors/ebpf/syscall-batcher.js';

const proc = (pid: number): ProcessInfo => ({ pid, ppid: 1, uid: 0, exe: '/bin/app', comm: 'app', argv: [] });

describe('syscall batcher', () => {
  it('emits one event per cgroup with ascending unique numbers and their names', () => {
    const names = syscallNamesFromTable({ '0': 'read', '1': 'write', '59': 'execve' });
    const b = createSyscallBatcher(names);
    let calls = 0;
    const first = () => (calls++, proc(10));
    b.add(7, 59, first, 1000);
    b.add(7, 0, () => proc(11), 2000);
    b.add(7, 59, () => proc(12), 3000);
    b.add(8, 1, () => proc(20), 4000);
    b.add(8, 460, () => proc(21), 5000);
    expect(b.pending).toBe(2);
    const events = b.flush();
    expect(calls).toBe(1); // the process is looked up once per batch
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      kind: 'syscalls',
      container: { cgroupId: 7 },
      process: { pid: 10 },
      timeNs: 1000,
      numbers: [0, 59],
      names: ['read', 'execve'],
      arch: 'x86_64',
      node: '',
      seq: 0,
    });
    expect(events[1]).toMatchObject({ container: { cgroupId: 8 }, numbers: [1, 460], names: ['write', 'syscall_460'] });
    expect(b.pending).toBe(0);
    expect(b.flush()).toEqual([]);
  });
});
