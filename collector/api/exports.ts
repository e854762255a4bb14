/**
 * Turns a learned profile into enforcement artefacts: an OCI seccomp profile (allow what
 * the workload was seen using) and a Kubernetes NetworkPolicy (its listeners and peers).
 */
import type { ProfileSnapshot } from '../../proto/profile.js';

const SECCOMP_ARCH: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** OCI runtime-spec seccomp profile: everything not learned returns EPERM. */
export function seccompProfile(p: ProfileSnapshot): Record<string, unknown> {
  const names = p.items
    .filter((i) => i.kind === 'syscall' && !i.suspect)
    .map((i) => i.key)
    .sort();
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: SECCOMP_ARCH[process.arch] ?? [],
    syscalls: names.length ? [{ names, action: 'SCMP_ACT_ALLOW' }] : [],
  };
}

const PORT_KEY = /^(tcp|udp)\/(\d+)$/;

/** Parses "tcp/8080" (listen keys and the tail of egress keys). */
function portOf(key: string): { protocol: 'TCP' | 'UDP'; port: number } | undefined {
  const m = PORT_KEY.exec(key);
  return m ? { protocol: m[1]!.toUpperCase() as 'TCP' | 'UDP', port: Number(m[2]) } : undefined;
}

/**
 * networking.k8s.io/v1 NetworkPolicy for a Kubernetes workload: ingress on learned
 * listener ports, egress to learned external addresses and to the namespaces of learned
 * in-cluster peers (a workload key names an owner, not its pods' labels, so peers are
 * allowed by namespace). Peers learned by DNS name cannot be written in a NetworkPolicy
 * (it has no names, and their addresses rotate): they are listed in the annotation
 * `tripline.io/egress-by-name` for a policy engine that has names (e.g. toFQDNs) or a
 * person to add. `podLabels` selects the workload's pods.
 */
export function networkPolicy(
  p: ProfileSnapshot,
  podLabels: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const w = p.workload;
  const ingressPorts = p.items
    .filter((i) => i.kind === 'listen')
    .flatMap((i) => {
      const port = portOf(i.key);
      return port ? [port] : [];
    });
  const egress: Record<string, unknown>[] = [];
  const byName: string[] = [];
  for (const item of p.items) {
    if (item.kind !== 'egress' || item.suspect) continue;
    const at = item.key.lastIndexOf(':');
    const peer = item.key.slice(0, at);
    const port = portOf(item.key.slice(at + 1));
    if (!port || port.port === 0) continue;
    const isAddress = /^[0-9a-f.:]+(\/\d+)?$/i.test(peer);
    // Workload keys are cluster/namespace/kind/name/container; a DNS name has no slash.
    if (!isAddress && !peer.includes('/')) {
      byName.push(item.key);
      continue;
    }
    const to = isAddress
      ? [{ ipBlock: { cidr: peer.includes('/') ? peer : peer.includes(':') ? `${peer}/128` : `${peer}/32` } }]
      : [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.split('/')[1] ?? '' } } }];
    egress.push({ to, ports: [port] });
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: `tripline-${w.name}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63),
      namespace: w.namespace || 'default',
      annotations: {
        'tripline.io/profile': p.key,
        ...(byName.length ? { 'tripline.io/egress-by-name': byName.join(',') } : {}),
      },
    },
    spec: {
      podSelector: { matchLabels: { ...podLabels } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: ingressPorts.length ? [{ ports: ingressPorts }] : [],
      egress,
    },
  };
}
