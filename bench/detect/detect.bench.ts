/**
 * Detection hot path benchmark: decoded events → enrichment → profile lookup → rule
 * decisions, on stable profiles whose items are all known (the steady state of a
 * healthy cluster). Prints JSON:
 *   throughput: events per CPU second of the analysing thread, 1,000 workloads × ~200
 *     items, batches decoded by the collector's real decoder (decode not counted); then
 *     the same for a bare Map lookup per event (the memory floor)
 *   memory: bytes per profile item with 10,000 workloads × 200 items (heap and RSS)
 * Run: npx tsx bench/detect/detect.bench.ts [--workloads-mem 10000 (0 = skip)] [--seconds 3]
 *   [--scenarios batchPerWorkload,batchesPerNode,interleaved] [--floor-alone 1 (the floor
 *   without the analyzer's items in memory)]
 */
import koffi from 'koffi';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { encodeBatchBody, encodeEnvelope, withBatchId } from '../../agent/transport/batch-encoding.js';
import { createAnalyzer } from '../../collector/analysis/create-analyzer.js';
import type { Analyzer } from '../../collector/analysis/analyzer.js';
import { createBatchDecoder } from '../../collector/ingest/batch-decoder.js';
import { parseEnrichConfig } from '../../collector/enrich/enrich-config.js';
import { createStaticEnricher } from '../../collector/enrich/static-enricher.js';
import type { PeerDirectory } from '../../collector/enrich/peer-directory.js';
import { parsePolicyConfig } from '../../collector/policy/policy-config.js';
import { createStaticPolicySource } from '../../collector/policy/static-policy-source.js';
import type { ProfileStore } from '../../collector/profiles/profile-store.js';
import { Problems } from '../../lib/config-problems.js';
import { silentLogger } from '../../lib/logger.js';
import { eventToWire } from '../../proto/codec.js';
import type { ContainerInfo, TriplineEvent, WorkloadRef } from '../../proto/events.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const THROUGHPUT_WORKLOADS = Number(args.get('workloads') ?? 1000);
const MEMORY_WORKLOADS = Number(args.get('workloads-mem') ?? 10_000);
const SECONDS = Number(args.get('seconds') ?? 3);
/** Comma-separated subset of batchPerWorkload,batchesPerNode,interleaved (to profile one). */
const SCENARIOS = new Set((args.get('scenarios') ?? 'batchPerWorkload,batchesPerNode,interleaved').split(','));
/** Measures the memory floor alone: no analyzer, so its items take no cache or TLB. */
const FLOOR_ALONE = args.get('floor-alone') === '1';
const SOURCE = { identity: 'bench', node: 'node-0', agentRunId: 'bench' };

const SYSCALLS = [
  'read',
  'write',
  'openat',
  'close',
  'fstat',
  'mmap',
  'mprotect',
  'munmap',
  'brk',
  'rt_sigaction',
  'rt_sigprocmask',
  'ioctl',
  'pread64',
  'writev',
  'access',
  'pipe',
  'select',
  'sched_yield',
  'mremap',
  'madvise',
  'dup',
  'dup2',
  'nanosleep',
  'getpid',
  'sendfile',
  'socket',
  'connect',
  'accept',
  'sendto',
  'recvfrom',
  'sendmsg',
  'recvmsg',
  'shutdown',
  'bind',
  'listen',
  'getsockname',
  'getpeername',
  'socketpair',
  'setsockopt',
  'getsockopt',
  'clone',
  'fork',
  'vfork',
  'execve',
  'exit',
  'wait4',
  'kill',
  'uname',
  'fcntl',
  'flock',
  'fsync',
  'fdatasync',
  'truncate',
  'ftruncate',
  'getdents',
  'getcwd',
  'chdir',
  'fchdir',
  'rename',
  'mkdir',
  'rmdir',
  'creat',
  'link',
  'unlink',
  'symlink',
  'readlink',
  'chmod',
  'fchmod',
  'chown',
  'fchown',
  'lchown',
  'umask',
  'gettimeofday',
  'getrlimit',
  'getrusage',
  'sysinfo',
  'times',
  'getuid',
  'getgid',
  'setuid',
  'setgid',
  'geteuid',
  'getegid',
  'setpgid',
  'getppid',
  'getpgrp',
  'setsid',
  'futex',
  'epoll_wait',
  'epoll_ctl',
  'epoll_create1',
  'eventfd2',
  'timerfd_create',
  'timerfd_settime',
  'accept4',
  'pipe2',
  'prlimit64',
  'getrandom',
  'statx',
  'clock_gettime',
  'clock_nanosleep',
  'exit_group',
  'tgkill',
  'set_robust_list',
  'rseq',
  'newfstatat',
];

const FIRST_CGROUP_ID = 10_000;

function container(w: WorkloadRef, i: number): ContainerInfo {
  return {
    cgroupId: FIRST_CGROUP_ID + i,
    cgroupPath: `/kubepods.slice/pod${i}.slice/cri-containerd-${i}.scope`,
    containerId: `c${i}`,
    podUid: `pod-${i}`,
    workload: w,
    image: 'registry.example/app:1',
    imageDigest: 'sha256:1111',
    privileged: false,
  };
}

/** ~200 distinct items for workload i: 20 execs, 40 syscalls, 100 file paths, 10 listeners, 30 peers. */
function itemEvents(i: number): TriplineEvent[] {
  const w: WorkloadRef = {
    cluster: 'prod',
    namespace: `ns-${i % 50}`,
    kind: 'Deployment',
    name: `app-${i}`,
    container: 'main',
  };
  const c = container(w, i);
  const base = { timeNs: 0, node: 'node-0', seq: 0, container: c };
  const proc = (exe: string) => ({ pid: 100, ppid: 1, uid: 1000, exe, comm: 'app', argv: [] as string[] });
  const out: TriplineEvent[] = [];
  for (let j = 0; j < 20; j++) {
    const exe =
      j < 10
        ? `/usr/bin/tool-${String.fromCharCode(97 + j)}`
        : `/opt/app-${i}/bin/worker-${String.fromCharCode(97 + j)}`;
    out.push({ ...base, process: proc(exe), kind: 'exec', argvTruncated: false, cwd: '/', writtenByContainer: false });
  }
  for (let j = 0; j < 40; j += 4) {
    out.push({
      ...base,
      process: proc('/opt/app/bin/server'),
      kind: 'syscalls',
      names: SYSCALLS.slice((i + j) % 60, ((i + j) % 60) + 4),
      numbers: [j, j + 1, j + 2, j + 3],
      arch: 'x86_64',
    });
  }
  for (let j = 0; j < 100; j++) {
    out.push({
      ...base,
      process: proc('/opt/app/bin/server'),
      kind: 'file',
      op: 'open-write',
      path: `/var/lib/app-${i}/store/segment-${String.fromCharCode(97 + (j % 26))}${String.fromCharCode(97 + Math.floor(j / 26))}.dat`,
      oldPath: '',
      flags: 0o101,
      resolved: true,
    });
  }
  for (let j = 0; j < 10; j++)
    out.push({
      ...base,
      process: proc('/opt/app/bin/server'),
      kind: 'listen',
      protocol: 'tcp',
      ip: '0.0.0.0',
      port: 8000 + j,
    });
  for (let j = 0; j < 30; j++)
    out.push({
      ...base,
      process: proc('/opt/app/bin/server'),
      kind: 'connect',
      protocol: 'tcp',
      ip: `10.244.${(i + j) % 200}.${(j * 7) % 250}`,
      port: 5432 + (j % 5),
      dnsName: '',
    });
  return out;
}

const peers: PeerDirectory = {
  lookup(ip) {
    // Pod IPs resolve to one of 200 peer workloads; a real directory is a Map lookup too.
    return ip.startsWith('10.244.') ? peerByIp.get(ip) : undefined;
  },
};
const peerByIp = new Map<string, { workloadKey: string; tier: 'internal' }>();
for (let a = 0; a < 200; a++)
  for (let b = 0; b < 250; b++)
    peerByIp.set(`10.244.${a}.${b}`, { workloadKey: `prod/ns-${a % 50}/Deployment/svc-${a}/main`, tier: 'internal' });

const store: ProfileStore = {
  loadAll: async () => [],
  save: async () => {},
  remove: async () => {},
  watch: () => () => {},
  close: async () => {},
};

async function buildAnalyzer(): Promise<{ analyzer: Analyzer; now: { ms: number }; findings: { n: number } }> {
  const problems = new Problems();
  const policies = createStaticPolicySource(
    parsePolicyConfig({ learning: { minDuration: '1s', stableFor: '1s', maxDuration: '10s' } }, problems),
  );
  const enricher = createStaticEnricher({
    config: parseEnrichConfig({ networks: { '127.0.0.99/32': 'public' } }, problems),
    policies,
    peers,
  });
  problems.throwIfAny();
  const now = { ms: 1_000_000 };
  const findings = { n: 0 };
  const analyzer = createAnalyzer({
    log: silentLogger(),
    registry: new Registry(),
    enricher,
    policies,
    store,
    findings: { submit: () => void findings.n++ },
    clock: () => now.ms,
    persistEveryMs: 3_600_000,
  });
  await analyzer.start();
  return { analyzer, now, findings };
}

async function throughput(): Promise<Record<string, number>> {
  const { analyzer, now, findings } = await buildAnalyzer();
  const perWorkload = Array.from({ length: THROUGHPUT_WORKLOADS }, (_, i) => itemEvents(i));
  if (!FLOOR_ALONE) for (const evs of perWorkload) await analyzer.apply(evs, SOURCE);
  now.ms += 5_000;
  await analyzer.flush();
  const profiles = analyzer.listProfiles();
  const stable = profiles.filter((p) => p.state === 'stable').length;
  const items = profiles.reduce((n, p) => n + p.items.length, 0);
  // Agents send batches per node: 20 nodes × 50 workloads, 500 events per batch drawn
  // from that node's workloads.
  const NODES = 20;
  const perNode = Math.ceil(THROUGHPUT_WORKLOADS / NODES);
  const BATCH = 500;
  const byNode: TriplineEvent[][] = [];
  for (let b = 0; b < 10; b++) {
    for (let n = 0; n < NODES; n++) {
      const batch: TriplineEvent[] = [];
      for (let k = 0; k < BATCH; k++) {
        const i = Math.min(n * perNode + (k % perNode), THROUGHPUT_WORKLOADS - 1);
        const evs = perWorkload[i]!;
        batch.push(evs[(b * 131 + k * 7) % evs.length]!);
      }
      byNode.push(batch);
    }
  }
  // Worst case: every event from a different workload than the one before.
  const interleaved: TriplineEvent[][] = [];
  for (let b = 0; b < 200; b++) {
    const batch: TriplineEvent[] = [];
    for (let k = 0; k < BATCH; k++) {
      const i = (b * BATCH + k) % THROUGHPUT_WORKLOADS;
      const evs = perWorkload[i]!;
      batch.push(evs[(b * 131 + k * 7) % evs.length]!);
    }
    interleaved.push(batch);
  }
  // Best case for caches: each batch from one workload (a busy container dominating its node).
  const perWorkloadBatches: TriplineEvent[][] = [];
  for (let b = 0; b < 200; b++) {
    const evs = perWorkload[(b * 37) % THROUGHPUT_WORKLOADS]!;
    perWorkloadBatches.push(Array.from({ length: BATCH }, (_, k) => evs[(b * 131 + k * 7) % evs.length]!));
  }
  findings.n = 0;
  // One agent stream (decoder) per node; the other two scenarios are one stream each.
  const floor = createFloor(perWorkload);
  const measured = FLOOR_ALONE ? undefined : analyzer;
  const oneWorkloadRun = SCENARIOS.has('batchPerWorkload') ? await timed(measured, floor, perWorkloadBatches, 1) : {};
  const perNodeRun = SCENARIOS.has('batchesPerNode') ? await timed(measured, floor, byNode, NODES) : {};
  const interleavedRun = SCENARIOS.has('interleaved') ? await timed(measured, floor, interleaved, 1) : {};
  await analyzer.stop();
  return {
    workloads: THROUGHPUT_WORKLOADS,
    stableProfiles: stable,
    items,
    itemsPerWorkload: Math.round(items / THROUGHPUT_WORKLOADS),
    findings: findings.n,
    batchPerWorkload: oneWorkloadRun,
    batchesPerNode: perNodeRun,
    interleaved: interleavedRun,
  } as unknown as Record<string, number>;
}

/**
 * CPU time of the calling thread in seconds (clock_gettime(CLOCK_THREAD_CPUTIME_ID)
 * through koffi, ~0.5 µs a call). process.cpuUsage() counts every thread (V8's GC
 * helpers and compiler threads run on other cores) and /proc's per-thread counters only
 * advance at scheduler ticks: neither can time one 500-event batch on one core.
 */
const CLOCK_THREAD_CPUTIME_ID = 3;
const threadClock = ((): (() => number) => {
  const clockGettime = koffi.load('libc.so.6').func('int clock_gettime(int, void *ts)');
  const ts = Buffer.alloc(16);
  return () => {
    clockGettime(CLOCK_THREAD_CPUTIME_ID, ts);
    return Number(ts.readBigInt64LE(0)) + Number(ts.readBigInt64LE(8)) / 1e9;
  };
})();

/**
 * Times analysis alone, on the analysing thread. Batches go through the real wire path:
 * encoded once as the agent does, and decoded just before they are applied by the
 * collector's batch decoder (one per agent stream, with its per-stream container cache),
 * so events are fresh objects with fresh, never-hashed path and address strings in the
 * young generation, and container strings shared the way the decoder shares them. Only
 * the apply call is timed: decode is left outside the measured interval rather than
 * subtracted, because the difference of two noisy totals (decoding costs about as much
 * as analysis) swung by ±50% between runs. GC triggered during apply is charged to
 * apply. Passes repeat for SECONDS; the fastest pass is kept (the machine may be shared,
 * and interference only ever adds time), the median is reported too.
 */
async function timed(
  analyzer: Analyzer | undefined,
  floor: Floor,
  batches: readonly TriplineEvent[][],
  streams: number,
): Promise<Record<string, number>> {
  const wire = batches.map((b, i) =>
    withBatchId(
      i + 1,
      encodeBatchBody(
        'bench',
        b.map((e) => ({ bytes: encodeEnvelope(eventToWire(e)) })),
      ),
    ),
  );
  const decoders = Array.from({ length: streams }, () => createBatchDecoder(100_000));
  const decode = (i: number): TriplineEvent[] => {
    const r = decoders[i % streams]!.decode(wire[i]!);
    if (!r.ok || r.batch.rejected > 0) throw new Error(`benchmark batch ${i} does not decode`);
    return r.batch.events;
  };
  let events = 0;
  for (let i = 0; i < wire.length; i++) {
    const batch = decode(i);
    events += batch.length;
    await analyzer?.apply(batch, SOURCE);
  }
  /** Thread (and process) CPU seconds of each pass over every batch, for SECONDS and at least 5 passes. */
  const passes = async (
    run: (batch: TriplineEvent[]) => Promise<void> | void,
  ): Promise<{ thread: number[]; process: number[] }> => {
    const out = { thread: [] as number[], process: [] as number[] };
    const t0 = performance.now();
    while (performance.now() - t0 < SECONDS * 1000 || out.thread.length < 5) {
      let thread = 0;
      let proc = 0;
      for (let i = 0; i < wire.length; i++) {
        const batch = decode(i);
        const p0 = process.cpuUsage();
        const c0 = threadClock();
        await run(batch);
        thread += threadClock() - c0;
        const p = process.cpuUsage(p0);
        proc += (p.user + p.system) / 1e6;
      }
      out.thread.push(thread);
      out.process.push(proc);
    }
    return out;
  };
  // The floor's passes come after the analyzer's, in their own block, so they neither
  // evict the analyzer's data between its passes nor take from its time.
  const analysis = analyzer ? await passes((batch) => analyzer.apply(batch, SOURCE)) : undefined;
  const floorBest = Math.min(...(await passes(floor)).thread);
  const floorResult = {
    /** The memory floor (see createFloor) on the same batches, best pass. */
    floorEventsPerCpuSecond: Math.round(events / floorBest),
  };
  if (!analysis) return { eventsPerPass: events, ...floorResult };
  const sorted = [...analysis.thread].sort((a, b) => a - b);
  const best = sorted[0]!;
  const median = sorted[sorted.length >> 1]!;
  return {
    eventsPerPass: events,
    passes: analysis.thread.length,
    bestPassCpuSeconds: +best.toFixed(4),
    /** Analysis only: events per CPU second of the analysing thread, best pass. */
    eventsPerCpuSecond: Math.round(events / best),
    /** The same, median pass. */
    eventsPerCpuSecondMedian: Math.round(events / median),
    /** Best pass by process CPU (all threads: V8's GC helpers included). */
    eventsPerProcessCpuSecond: Math.round(events / Math.min(...analysis.process)),
    ...floorResult,
    /** Best analyzer pass time over best floor pass time. */
    pipelineOverFloor: +(best / floorBest).toFixed(2),
  };
}

type Floor = (events: readonly TriplineEvent[]) => void;

/**
 * The least any per-workload profile lookup can cost on this machine: per event, the
 * workload's Map found by array index, one Map.get on the event's raw string (path,
 * executable, first syscall name or address) and a count and time update on the item
 * found. No enrichment, rules, generalisation or metrics. With 1,000 workloads × ~200
 * items the maps do not fit in cache, so in the mixed-batch scenarios this is the cost
 * of the cache misses alone; the pipeline's time over the floor's is what the analyzer
 * adds.
 */
function createFloor(perWorkload: readonly TriplineEvent[][]): Floor {
  const rawKey = (e: TriplineEvent): string =>
    e.kind === 'exec'
      ? e.process.exe
      : e.kind === 'file'
        ? e.path
        : e.kind === 'syscalls'
          ? e.names[0]!
          : e.kind === 'listen' || e.kind === 'connect'
            ? e.ip
            : '';
  const maps = perWorkload.map((evs) => {
    const m = new Map<string, { count: number; lastSeenMs: number }>();
    for (const e of evs) m.set(rawKey(e), { count: 0, lastSeenMs: 0 });
    return m;
  });
  let nowMs = Date.now();
  return (events) => {
    nowMs++;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const item = maps[e.container.cgroupId - FIRST_CGROUP_ID]!.get(rawKey(e));
      if (item === undefined) throw new Error('floor: an item is missing');
      item.count++;
      item.lastSeenMs = nowMs;
    }
  };
}

async function memory(): Promise<Record<string, number>> {
  gc();
  const before = process.memoryUsage();
  const { analyzer, now } = await buildAnalyzer();
  for (let i = 0; i < MEMORY_WORKLOADS; i++) await analyzer.apply(itemEvents(i), SOURCE);
  now.ms += 5_000;
  await analyzer.flush();
  gc();
  const after = process.memoryUsage();
  let items = 0;
  for (const p of analyzer.listProfiles()) items += p.items.length;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  await analyzer.stop();
  return {
    workloads: MEMORY_WORKLOADS,
    items,
    heapBytesPerItem: Math.round((Math.min(after.heapUsed, heapAfter) - before.heapUsed) / items),
    rssBytesPerItem: Math.round((after.rss - before.rss) / items),
    rssMiB: Math.round(after.rss / 2 ** 20),
  };
}

const result = {
  node: process.version,
  loadAverage1m: +(await import('node:os')).loadavg()[0]!.toFixed(1),
  throughput: await throughput(),
} as Record<string, unknown>;
gc();
if (MEMORY_WORKLOADS > 0) result.memory = await memory();
console.log(JSON.stringify(result, null, 2));
