import { describe, expect, it } from 'vitest';
import {
  BPF_FUNC_GET_NETNS_COOKIE,
  BPF_PROG_TYPE_CGROUP_SKB,
  dnsNamespaceSources,
} from '../../../../../agent/sensors/ebpf/dns-namespace-source.js';

/** A libbpf whose probe answers `answer` and records what it was asked. */
function probing(answer: number): { probeHelper(t: number, h: number): number; asked: [number, number][] } {
  const asked: [number, number][] = [];
  return {
    asked,
    probeHelper(t, h) {
      asked.push([t, h]);
      return answer;
    },
  };
}

describe('which DNS programs the agent loads', () => {
  it('asks whether packet programs may call bpf_get_netns_cookie (uapi numbers 8 and 122)', () => {
    const lib = probing(1);
    dnsNamespaceSources(lib);
    expect(lib.asked).toEqual([[8, 122]]);
    expect([BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_GET_NETNS_COOKIE]).toEqual([8, 122]);
  });

  it('prefers the helper where the kernel has it, with the socket programs as the fallback', () => {
    expect(dnsNamespaceSources(probing(1))).toEqual(['helper', 'socket']);
  });

  it('never loads the helper program on a kernel that says it would refuse it', () => {
    expect(dnsNamespaceSources(probing(0))).toEqual(['socket']);
  });

  it('tries both, socket programs first, when the probe itself fails', () => {
    expect(dnsNamespaceSources(probing(-95))).toEqual(['socket', 'helper']);
  });

  it('loads only the source it is told to, without probing', () => {
    const lib = probing(1);
    expect(dnsNamespaceSources(lib, 'socket')).toEqual(['socket']);
    expect(lib.asked).toEqual([]);
  });
});
