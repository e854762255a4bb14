/** Findings and incidents for incident-stage tests. */
import type { Finding } from '../../../../collector/incidents/finding.js';
import { workloadKey, type ExecEvent, type WorkloadRef } from '../../../../proto/events.js';
import type { RuleId, Severity } from '../../../../proto/incident.js';

export function workload(name: string, namespace = 'default'): WorkloadRef {
  return { cluster: 'test', namespace, kind: 'Deployment', name, container: 'main' };
}

export function execEvent(exe: string, pid = 4242): ExecEvent {
  return {
    kind: 'exec',
    timeNs: 1_795_644_855_000_000_000,
    node: 'node-1',
    seq: 1,
    container: {
      cgroupId: 1234,
      cgroupPath: '/kubepods.slice/x.scope',
      containerId: 'c0ffee',
      podUid: 'pod-uid',
      workload: undefined,
      image: 'nginx:1.27',
      imageDigest: 'sha256:abc',
      privileged: false,
    },
    process: { pid, ppid: 1, uid: 0, exe, comm: exe.split('/').pop()!.slice(0, 15), argv: [exe, '-c', 'id'] },
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  };
}

export function finding(
  opts: { w?: WorkloadRef; key?: string; rule?: RuleId; severity?: Severity; score?: number } = {},
): Finding {
  const w = opts.w ?? workload('web');
  const key = opts.key ?? '/bin/sh';
  return {
    rule: opts.rule ?? 'unexpected-exec',
    severity: opts.severity ?? 'high',
    score: opts.score ?? 75,
    workload: w,
    workloadKey: workloadKey(w),
    key,
    summary: `exec ${key} not in the profile`,
    mitreTechniques: ['T1059'],
    mitreTactics: ['execution'],
    context: [],
    event: execEvent(key),
  };
}
