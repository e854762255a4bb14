/**
 * Turns decoded kernel records into the TriplineEvent union. Node and seq are filled
 * downstream (node '' and seq 0 here); container identity beyond the cgroup id is the
 * container resolver's job.
 */
import {
  unresolvedContainer,
  type ConnectEvent,
  type ExecEvent,
  type FileWriteEvent,
  type ListenEvent,
  type ProcessInfo,
} from '../../../proto/events.js';
import type { ProcessView } from './process-view.js';
import type { ExecRecord, FileRecord, RecordHeader, SockRecord } from './records.js';

export interface EventBuilder {
  /** Epoch nanoseconds for a CLOCK_MONOTONIC kernel timestamp. */
  epochNs(monoNs: bigint): number;
  processOf(hdr: RecordHeader, argv?: readonly string[], exe?: string): ProcessInfo;
  exec(r: ExecRecord): ExecEvent;
  file(r: FileRecord): FileWriteEvent;
  /** `dnsName`: what the container's resolver called the peer of a connect ('' = nothing). */
  sock(r: SockRecord, dnsName?: string): ListenEvent | ConnectEvent;
}

/**
 * `monoToEpochNs` is added to kernel CLOCK_MONOTONIC stamps; process.hrtime reads the
 * same clock, so the offset is measured once at start.
 */
export function createEventBuilder(processes: ProcessView, monoToEpochNs: bigint): EventBuilder {
  const builder: EventBuilder = {
    epochNs: (monoNs) => Number(monoNs + monoToEpochNs),

    processOf(hdr, argv = [], exe) {
      return {
        pid: hdr.pid,
        ppid: hdr.ppid,
        uid: hdr.uid,
        exe: exe ?? processes.exe(hdr.pid),
        comm: hdr.comm,
        argv,
      };
    },

    exec(r) {
      const cwd = processes.cwd(r.hdr.pid);
      // The kernel reports the filename as execve received it; a relative one is made
      // absolute against the cwd the new image started in.
      let exe = r.filename;
      if (!exe.startsWith('/') && cwd) exe = `${cwd.replace(/\/$/, '')}/${exe.replace(/^\.\//, '')}`;
      processes.noteExec(r.hdr.pid, exe);
      return {
        kind: 'exec',
        timeNs: builder.epochNs(r.hdr.monoNs),
        node: '',
        seq: 0,
        container: unresolvedContainer(r.hdr.cgroupId),
        process: builder.processOf(r.hdr, r.argv, exe),
        argvTruncated: r.argvTruncated || r.argvMissing,
        cwd,
        writtenByContainer: false,
      };
    },

    file(r) {
      const target = processes.resolve(r.hdr.pid, r.dirfd, r.path);
      const old =
        r.op === 'rename' ? processes.resolve(r.hdr.pid, r.oldDirfd, r.oldPath) : { path: '', resolved: true };
      return {
        kind: 'file',
        timeNs: builder.epochNs(r.hdr.monoNs),
        node: '',
        seq: 0,
        container: unresolvedContainer(r.hdr.cgroupId),
        process: builder.processOf(r.hdr),
        op: r.op,
        path: target.path,
        oldPath: old.path,
        flags: r.flags,
        resolved: target.resolved && !r.truncated,
      };
    },

    sock(r, dnsName = '') {
      const header = {
        timeNs: builder.epochNs(r.hdr.monoNs),
        node: '',
        seq: 0,
        container: unresolvedContainer(r.hdr.cgroupId),
        process: builder.processOf(r.hdr),
        protocol: r.protocol,
      };
      if (r.kind === 'connect') return { ...header, kind: 'connect', ip: r.ip, port: r.port, dnsName };
      // An autobound listener (listen without bind) has its port picked after the kernel
      // event; its socket is in the process's network namespace tables by now.
      const found = r.port === 0 && r.sockIno !== 0 ? processes.tcpListener(r.hdr.pid, r.sockIno) : undefined;
      return { ...header, kind: 'listen', ip: found?.ip ?? r.ip, port: found?.port ?? r.port };
    },
  };
  return builder;
}
