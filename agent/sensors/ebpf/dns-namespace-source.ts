/**
 * Which DNS programs to load. An answer must carry the network namespace it reached
 * (docs/security.md), and kernels differ in how a packet program can learn it:
 * 'helper' asks the kernel from the packet program (bpf_get_netns_cookie, which
 * cgroup_skb programs may call from Linux 6.15 on); 'socket' records each UDP socket's
 * namespace when it is created (cgroup/sock_create) and reads it back.
 */
import type { Libbpf } from './libbpf.js';

export type DnsNamespaceSource = 'helper' | 'socket';

/** The cgroup programs each source loads (agent/bpf/tripline.bpf.c). */
export const DNS_PROGRAMS: Readonly<Record<DnsNamespaceSource, ReadonlySet<string>>> = {
  helper: new Set(['tl_dns_answer']),
  socket: new Set(['tl_dns_by_sock', 'tl_sock_netns']),
};

// From the kernel's uapi bpf.h.
export const BPF_PROG_TYPE_CGROUP_SKB = 8;
export const BPF_FUNC_GET_NETNS_COOKIE = 122;

/**
 * The sources to try, in order: `forced` alone when given; else what the kernel's probe
 * says, then the other one in case the load fails anyway, or both when the probe could
 * not tell. A kernel that refused the helper is not asked to load it again: a load costs
 * the parse of the kernel's BTF.
 */
export function dnsNamespaceSources(
  lib: Pick<Libbpf, 'probeHelper'>,
  forced?: DnsNamespaceSource,
): DnsNamespaceSource[] {
  if (forced !== undefined) return [forced];
  const probe = lib.probeHelper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_GET_NETNS_COOKIE);
  return probe === 1 ? ['helper', 'socket'] : probe === 0 ? ['socket'] : ['socket', 'helper'];
}
