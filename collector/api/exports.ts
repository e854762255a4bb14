/**
 * Turns a learned profile into enforcement artefacts: an OCI seccomp profile (allow what
 * the workload was seen using) and a Kubernetes NetworkPolicy (its listeners and peers).
 */
import { isIP } from 'node:net';
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

const PREFIX_LENGTH = /^\d{1,3}$/;
/** Every public address: what a named (external) peer may be at. */
const INTERNET = [
  { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] } },
  { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] } },
];
// Labels of letters, digits, `-` and `_`, or `*` where the collector generalised one.
const DNS_NAME = /^[\w*-]+(\.[\w*-]+)*$/;

/**
 * The ipBlock CIDR of an address peer ("203.0.113.7", "2001:db8::1") or network peer
 * ("10.0.0.0/8"); undefined for anything else. Parsed, not pattern-matched: names such as
 * `cafe.de` or `bad.cafe` are made of hex digits and dots too.
 */
function cidrOf(peer: string): string | undefined {
  const slash = peer.indexOf('/');
  const address = slash < 0 ? peer : peer.slice(0, slash);
  const family = isIP(address);
  // A zone ("fe80::1%eth0") is local to one host: no CIDR.
  if (family === 0 || address.includes('%')) return undefined;
  const maxBits = family === 4 ? 32 : 128;
  if (slash < 0) return `${address}/${maxBits}`;
  const bits = peer.slice(slash + 1);
  return PREFIX_LENGTH.test(bits) && Number(bits) <= maxBits ? peer : undefined;
}

/**
 * networking.k8s.io/v1 NetworkPolicy for a Kubernetes workload: ingress on learned
 * listener ports, egress to learned external addresses and networks (ipBlock) and to the
 * namespaces of learned in-cluster peers (a workload key names an owner, not its pods'
 * labels, so peers are allowed by namespace). A NetworkPolicy cannot name a DNS peer (it
 * has no names, and the peer's addresses rotate), yet leaving it out would block calls the
 * workload makes every day once the policy is applied. So each learned name's port and
 * protocol is allowed to the internet (every address outside the private ranges, one rule
 * per distinct port), the closest a NetworkPolicy gets — it widens that port to every
 * public address, but not to the cluster's pods or other private networks, where it would
 * open lateral movement — and the names are listed in the annotation
 * `tripline.io/egress-by-name` for a policy engine that has names (e.g. toFQDNs) or a
 * person to narrow it. `podLabels` selects the workload's pods.
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
  const anyDestinationPorts = new Set<string>();
  for (const item of p.items) {
    if (item.kind !== 'egress' || item.suspect) continue;
    const at = item.key.lastIndexOf(':');
    const peer = item.key.slice(0, at);
    const portKey = item.key.slice(at + 1);
    const port = portOf(portKey);
    if (!port || port.port === 0) continue;
    const cidr = cidrOf(peer);
    if (cidr) {
      egress.push({ to: [{ ipBlock: { cidr } }], ports: [port] });
      continue;
    }
    const parts = peer.split('/');
    if (parts.length === 5) {
      // cluster/namespace/kind/name/container
      const namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': parts[1]! } };
      egress.push({ to: [{ namespaceSelector }], ports: [port] });
      continue;
    }
    // Any other shape is no key this exporter knows, and is left out.
    if (!DNS_NAME.test(peer)) continue;
    byName.push(item.key);
    if (anyDestinationPorts.has(portKey)) continue;
    anyDestinationPorts.add(portKey);
    egress.push({ to: INTERNET, ports: [port] });
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
