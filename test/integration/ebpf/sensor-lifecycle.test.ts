/**
 * Start-up failures say what is wrong, and stop() leaves nothing attached in the kernel.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logger.js';
import { createEbpfSensor } from '../../../agent/sensors/ebpf/ebpf-sensor.js';
import {
  BPF_FUNC_GET_NETNS_COOKIE,
  BPF_PROG_TYPE_CGROUP_SKB,
  type DnsNamespaceSource,
} from '../../../agent/sensors/ebpf/dns-namespace-source.js';
import { loadBpfObject } from '../../../agent/sensors/ebpf/bpf-object.js';
import { loadLibbpf } from '../../../agent/sensors/ebpf/libbpf.js';
import { EBPF_SENSOR_DEFAULTS } from '../../../agent/sensors/ebpf/ebpf-sensor-config.js';

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** BPF objects this process holds open, by kind, with the ids of its programs. */
function ownBpfFds(): { progIds: number[]; links: number; maps: number; perfEvents: number } {
  const progIds: number[] = [];
  let links = 0;
  let maps = 0;
  let perfEvents = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target === 'anon_inode:bpf_link') links++;
    else if (target === 'anon_inode:[perf_event]') perfEvents++;
    else if (target === 'anon_inode:bpf-map') maps++;
    else if (target === 'anon_inode:bpf-prog') {
      const m = /^prog_id:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m) progIds.push(Number(m[1]));
    }
  }
  return { progIds, links, maps, perfEvents };
}

function progExists(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function sensorWith(objectPath: string) {
  return createEbpfSensor({ config: { ...EBPF_SENSOR_DEFAULTS, objectPath }, log: silentLogger() });
}

describe('start-up errors', () => {
  it('names a missing BPF object and the command that builds it', async () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir', 'tripline.bpf.o');
    const sensor = sensorWith(missing);
    await expect(sensor.start(() => {})).rejects.toThrow(
      new RegExp(`BPF object not found at ${missing.replace(/[.]/g, '\\.')}: build it with npm run bpf`),
    );
    await sensor.stop();
  });

  it('rejects a file that is not a BPF object and leaves nothing loaded', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-badobj-'));
    tmpDirs.push(dir);
    const bogus = path.join(dir, 'tripline.bpf.o');
    fs.writeFileSync(bogus, 'this is not an ELF file');
    fs.copyFileSync(
      path.join(process.cwd(), 'agent/bpf/.output/syscalls-x86_64.json'),
      path.join(dir, 'syscalls-x86_64.json'),
    );
    const before = ownBpfFds();
    const sensor = sensorWith(bogus);
    await expect(sensor.start(() => {})).rejects.toThrow(`cannot open BPF object ${bogus}`);
    expect(ownBpfFds()).toEqual(before);
  });
});

const DNS_PROGRAMS = ['tl_dns_answer', 'tl_dns_by_sock', 'tl_sock_netns'];
/** io_uring_submit_req is optional: on kernels without it, only sys_enter is attached. */
const RAW_TRACEPOINT_PROGRAMS = ['tl_sys_enter', 'tl_uring_submit'];

/** The sensor with the DNS answer program (a resolver to believe, whatever /etc/resolv.conf says). */
function sensorWithDns(extra: { cgroupRoot?: string; dnsNamespaceSource?: DnsNamespaceSource } = {}) {
  return createEbpfSensor({
    config: { ...EBPF_SENSOR_DEFAULTS, dnsResolvers: ['127.0.0.153'] },
    log: silentLogger(),
    ...extra,
  });
}

describe('the DNS answer program', () => {
  it('is left out, said as a blind spot, when it cannot attach, and the rest of the sensor starts', async () => {
    // A plain directory where the cgroup root should be: it opens, but nothing attaches to it.
    const notCgroup = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-not-cgroup-'));
    tmpDirs.push(notCgroup);
    const before = ownBpfFds();
    const sensor = sensorWithDns({ cgroupRoot: notCgroup });
    await sensor.start(() => {});
    try {
      expect(sensor.stats().programs).not.toContain('tl_dns_answer');
      expect(sensor.stats().programs.length).toBeGreaterThan(15);
      // Both sources were tried before the sensor started without them.
      expect(sensor.blindSpots.join('\n')).toMatch(
        /DNS names are not read \(helper: cannot attach tl_dns_answer.*; socket: cannot attach tl_dns_by_sock/,
      );
    } finally {
      await sensor.stop();
    }
    expect(ownBpfFds()).toEqual(before);
  });
});

describe('an optional program the kernel refuses', () => {
  it('is left out and said as a blind spot, and the rest of the sensor loads', async () => {
    // An object built with a program the verifier refuses: a load fails as a whole, so
    // without the retry this sensor would not start at all.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-refused-'));
    tmpDirs.push(dir);
    const bpf = path.join(process.cwd(), 'agent/bpf');
    const object = path.join(dir, 'tripline.bpf.o');
    execFileSync('clang', [
      ...['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', '-DTL_TEST_REFUSED_OPTIONAL'],
      ...['-I', path.join(bpf, '.output'), '-I', bpf, '-c', path.join(bpf, 'tripline.bpf.c'), '-o', object],
    ]);
    fs.copyFileSync(path.join(bpf, '.output/syscalls-x86_64.json'), path.join(dir, 'syscalls-x86_64.json'));
    const before = ownBpfFds();
    const sensor = sensorWith(object);
    await sensor.start(() => {});
    try {
      expect(sensor.stats().programs).not.toContain('tl_uring_submit');
      expect(sensor.stats().programs).toContain('tl_enter_openat');
      expect(sensor.blindSpots.join('\n')).toMatch(/tl_uring_submit not loaded: the kernel refused it/);
      expect(sensor.blindSpots.join('\n')).toMatch(/io_uring: files opened, renamed or removed .* are not seen/);
    } finally {
      await sensor.stop();
    }
    expect(ownBpfFds()).toEqual(before);
  });
});

describe('the kernel probe that picks the DNS programs', () => {
  it('tells a helper packet programs may call from one they may not', () => {
    const lib = loadLibbpf();
    // This kernel (6.15+) lets cgroup_skb programs ask for the namespace cookie...
    expect(lib.probeHelper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_GET_NETNS_COOKIE)).toBe(1);
    // ...and never bpf_override_return (58), which only kprobes may call.
    expect(lib.probeHelper(BPF_PROG_TYPE_CGROUP_SKB, 58)).toBe(0);
  });

  it('refuses a BPF object without the programs asked for', () => {
    const lib = loadLibbpf();
    expect(() =>
      loadBpfObject(lib, {
        path: path.join(process.cwd(), 'agent/bpf/.output/tripline.bpf.o'),
        ringBufferBytes: 1 << 20,
        peerCacheEntries: 1024,
        selfTgid: 0,
        optionalPrograms: new Set(),
        cgroupRoot: '/sys/fs/cgroup',
        cgroupPrograms: new Set(['tl_dns_answer', 'tl_no_such_program']),
        dnsResolvers: [],
        log: silentLogger(),
      }),
    ).toThrow(/has no program "tl_no_such_program" \(stale build\? run npm run bpf\)/);
  });
});

describe('stop', () => {
  // undefined: the kernel is probed, and this one offers the namespace helper to packet programs.
  it.each([
    { source: undefined, cgroupPrograms: ['tl_dns_answer'] },
    { source: 'socket' as const, cgroupPrograms: ['tl_dns_by_sock', 'tl_sock_netns'] },
  ])('detaches every program and frees every map, and is safe twice (DNS source $source)', async (c) => {
    const before = ownBpfFds();
    const sensor = sensorWithDns({ dnsNamespaceSource: c.source });
    await sensor.start(() => {});
    const running = ownBpfFds();
    const ours = running.progIds.filter((id) => !before.progIds.includes(id));
    expect(ours.length).toBe(sensor.stats().programs.length);
    // Exactly one source's programs: the other's are never loaded.
    expect(
      sensor
        .stats()
        .programs.filter((p) => DNS_PROGRAMS.includes(p))
        .sort(),
    ).toEqual(c.cgroupPrograms);
    expect(running.links - before.links).toBe(ours.length);
    // One perf event per tracepoint program; raw tracepoint and cgroup programs have none.
    const raw = sensor.stats().programs.filter((p) => RAW_TRACEPOINT_PROGRAMS.includes(p)).length;
    expect(raw).toBeGreaterThan(0);
    expect(running.perfEvents - before.perfEvents).toBe(ours.length - raw - c.cgroupPrograms.length);
    expect(running.maps).toBeGreaterThan(before.maps);
    expect(ours.every(progExists)).toBe(true);

    await sensor.stop();
    await sensor.stop();
    expect(ownBpfFds()).toEqual(before);
    expect(ours.filter(progExists)).toEqual([]);
  });

  it('refuses a second start', async () => {
    const sensor = createEbpfSensor({ log: silentLogger() });
    await sensor.start(() => {});
    try {
      await expect(sensor.start(() => {})).rejects.toThrow(/cannot start: it is running/);
    } finally {
      await sensor.stop();
    }
  });
});
