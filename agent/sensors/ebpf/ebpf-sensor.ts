/**
 * The default sensor: tracepoint programs (agent/bpf/tripline.bpf.c) loaded through
 * libbpf, records read from one BPF ring buffer and decoded into TriplineEvents.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { EVENT_KINDS, type EventKind } from '../../../proto/events.js';
import type { DropCount, DropReason } from '../../../proto/report.js';
import type { EmitFn, Sensor, SensorDrops } from '../sensor.js';
import type { LoadedBpfObject } from './bpf-object.js';
import { EBPF_SENSOR_DEFAULTS, type EbpfSensorConfig } from './ebpf-sensor-config.js';
import { parseDnsResponse } from '../../dns/dns-message.js';
import { createResolvedNames, type ResolvedNames } from '../../dns/resolved-names.js';
import { loadResolvedNames, saveResolvedNames } from '../../dns/resolved-names-file.js';
import { findCgroupV2Root } from '../../containers/cgroup-root.js';
import { dnsNamespaceSources, type DnsNamespaceSource } from './dns-namespace-source.js';
import { isNamespaceLocal, resolverKey, trustedResolvers } from './dns-resolvers.js';
import { createEventBuilder } from './event-builder.js';
import { createKernelDropReader, type KernelDropReader } from './kernel-drops.js';
import { loadLibbpf, type Libbpf } from './libbpf.js';
import {
  BUILD_COMMAND,
  canLoadPacketPrograms,
  effectiveCapabilities,
  findTracefs,
  locateBpfObject,
  preflightProblems,
} from './preflight.js';
import { createProcessView } from './process-view.js';
import { decodeRecord, RECORD_KIND, recordKindName, type RawRecord } from './records.js';
import { createRingReader, type RingReader } from './ring-reader.js';
import { createSensorMetrics } from './sensor-metrics.js';
import { loadSensorObject, REFUSED_PROGRAM } from './sensor-object.js';
import { createSyscallBatcher, syscallNamesFromTable } from './syscall-batcher.js';

export interface EbpfSensorOptions {
  /** From parseEbpfSensorConfig; defaults when omitted. */
  readonly config?: EbpfSensorConfig;
  readonly log: Logger;
  /** The agent's private registry; no metrics when omitted. */
  readonly registry?: Registry;
  /** Process whose activity the kernel ignores (default: this process; 0 ignores none). */
  readonly selfTgid?: number;
  /**
   * The host's cgroup v2 root, where the DNS program attaches to see every container
   * (agent.containers.cgroupRoot; default: found in mountinfo). Inside a container its
   * own /sys/fs/cgroup is only its own cgroup.
   */
  readonly cgroupRoot?: string;
  /** Where retained DNS answers are kept across restarts (agent/dns/resolved-names-file.ts); none when omitted. */
  readonly dnsStateFile?: string;
  /** Only this way of learning an answer's network namespace (dns-namespace-source.ts); default: probed. */
  readonly dnsNamespaceSource?: DnsNamespaceSource;
}

export interface EbpfSensorStats {
  /** Records decoded since start, per kind (syscalls: one per newly used syscall number). */
  readonly seen: Readonly<Record<EventKind, number>>;
  /** Drops since start, per kind, all reasons. */
  readonly dropped: Readonly<Record<EventKind, number>>;
  /** Records that could not be decoded. */
  readonly decodeErrors: number;
  /** Seconds from start() until every program was attached. */
  readonly attachSeconds: number | undefined;
  /** Attached program names. */
  readonly programs: readonly string[];
}

export interface EbpfSensor extends Sensor {
  /** Cumulative counters since start (for benchmarks and diagnostics). */
  stats(): EbpfSensorStats;
}

const BASE_BLIND_SPOTS = [
  'sendmmsg destinations are not read (connected UDP sockets are seen at connect)',
  'fchmod, truncate, link, symlink and mkdir are not reported as file writes',
  'file paths longer than 255 bytes are cut and marked unresolved; argv is cut at 32 arguments or 1024 bytes',
  'syscall numbers of 512 and above are not tracked',
  'exec cwd, relative file paths and autobound listener ports are read from /proc when decoded: ' +
    'for a process that already exited they stay empty, relative (resolved=false) or 0',
];
const DROP_LOG_INTERVAL_MS = 10_000;
/** Bounds of the DNS answers kept (agent/dns/resolved-names.ts): ~100 bytes each. */
const DNS_ADDRESSES_PER_CONTAINER = 512;
const DNS_ADDRESSES = 65_536;
const OPTIONAL_PROGRAMS = new Set(['tl_enter_fchmodat2', 'tl_enter_openat2', 'tl_enter_execveat', 'tl_uring_submit']);
const KIND_OF_RECORD: Record<number, EventKind> = {
  [RECORD_KIND.exec]: 'exec',
  [RECORD_KIND.syscall]: 'syscalls',
  [RECORD_KIND.file]: 'file',
  [RECORD_KIND.listen]: 'listen',
  [RECORD_KIND.connect]: 'connect',
};

function zeroByKind(): Record<EventKind, number> {
  return Object.fromEntries(EVENT_KINDS.map((k) => [k, 0])) as Record<EventKind, number>;
}

export function createEbpfSensor(opts: EbpfSensorOptions): EbpfSensor {
  const config = opts.config ?? EBPF_SENSOR_DEFAULTS;
  const log = opts.log.child({ component: 'ebpf-sensor' });
  const metrics = createSensorMetrics(opts.registry);
  const blindSpots: string[] = [...BASE_BLIND_SPOTS];
  const seen = zeroByKind();
  const dropped = zeroByKind();
  let decodeErrors = 0;
  let unloggedDrops = 0;
  let lastDropLogMs = 0;
  let attachSeconds: number | undefined;
  let programs: readonly string[] = [];
  // Drops read from the kernel but not yet taken, by cgroup then kind and reason.
  let pending = new Map<number, Map<string, DropCount>>();

  let state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  let stopping: Promise<void> | undefined;
  let object: LoadedBpfObject | undefined;
  let reader: RingReader | undefined;
  let dropReader: KernelDropReader | undefined;
  const timers: NodeJS.Timeout[] = [];

  function addDrop(cgroupId: number, kind: EventKind, reason: DropReason, count: number): void {
    if (count <= 0) return;
    let m = pending.get(cgroupId);
    if (!m) pending.set(cgroupId, (m = new Map()));
    const key = `${kind}/${reason}`;
    m.set(key, { kind, reason, count: (m.get(key)?.count ?? 0) + count });
    dropped[kind] += count;
    metrics.drops(kind, reason, count);
  }

  function pollKernelDrops(): void {
    if (!dropReader) return;
    const delta = dropReader.read();
    if (delta.total === 0) return;
    for (const [cgroupId, kinds] of delta.byCgroup) {
      for (const [kindNum, n] of kinds) {
        const kind = KIND_OF_RECORD[kindNum];
        if (kind) addDrop(cgroupId, kind, 'ringbuf_full', n);
        // A lost answer only leaves later connects unnamed, reported by address: that errs
        // towards alerts, so it must not mark the profile partial (which keeps it
        // learning). Counted, not booked against the container.
        else if (kindNum === RECORD_KIND.dns) metrics.dnsAnswer('lost', n);
      }
    }
    // One warning per burst, carrying the count, however often the counters are polled.
    unloggedDrops += delta.total;
    const now = Date.now();
    if (now - lastDropLogMs >= DROP_LOG_INTERVAL_MS) {
      log.warn({ dropped: unloggedDrops }, 'kernel ring buffer full: observations dropped');
      unloggedDrops = 0;
      lastDropLogMs = now;
    }
  }

  function preflight(): { lib: Libbpf; objectPath: string; syscallTable: Record<string, string> } {
    const objectPath = locateBpfObject(config.objectPath);
    let lib: Libbpf | undefined;
    let libbpfError: string | undefined;
    try {
      lib = loadLibbpf();
    } catch (err) {
      libbpfError = err instanceof Error ? err.message : String(err);
    }
    let tracefs = findTracefs();
    let tracefsError: string | undefined;
    if (!tracefs && config.mountTracefs && lib) {
      if (lib.mountTracefs('/sys/kernel/tracing') === 0) tracefs = findTracefs();
      else tracefsError = lib.strerror(lib.errno());
    }
    const problems = preflightProblems({
      objectPath,
      capabilities: effectiveCapabilities(),
      libbpfError,
      tracefs,
      tracefsError,
    });
    const tablePath = path.join(path.dirname(objectPath), 'syscalls-x86_64.json');
    let syscallTable: Record<string, string> = {};
    if (fs.existsSync(objectPath)) {
      try {
        syscallTable = JSON.parse(fs.readFileSync(tablePath, 'utf8')) as Record<string, string>;
      } catch (err) {
        problems.push(
          `cannot read the syscall name table ${tablePath} (${String(err)}): build it with ${BUILD_COMMAND}`,
        );
      }
    }
    if (problems.length || !lib) {
      throw new Error(`eBPF sensor cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    return { lib, objectPath, syscallTable };
  }

  const sensor: EbpfSensor = {
    name: 'ebpf',
    blindSpots,

    async start(emit: EmitFn) {
      if (state !== 'idle') throw new Error(`eBPF sensor cannot start: it is ${state}`);
      state = 'starting';
      // Said again by this start; a failed earlier one may have added some.
      blindSpots.splice(BASE_BLIND_SPOTS.length);
      const t0 = performance.now();
      try {
        const { lib, objectPath, syscallTable } = preflight();
        // Programs libbpf reports the kernel refused during the current load attempt.
        const refused = new Set<string>();
        lib.setPrint((level, message) => {
          const m = REFUSED_PROGRAM.exec(message);
          if (m) refused.add(m[1]!);
          log.debug({ libbpfLevel: level }, message);
        });
        const processes = createProcessView();
        const build = createEventBuilder(processes, BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint());
        const batcher = createSyscallBatcher(syscallNamesFromTable(syscallTable));
        const dns = dnsSetup(lib, canLoadPacketPrograms(effectiveCapabilities()));
        const names = createResolvedNames({
          maxAddressesPerContainer: DNS_ADDRESSES_PER_CONTAINER,
          maxAddresses: DNS_ADDRESSES,
          minRetentionMs: config.dnsRetentionMs,
        });
        if (opts.dnsStateFile && dns.cgroupRoot !== undefined) {
          const saved = await loadResolvedNames(opts.dnsStateFile);
          if (saved.ok) names.restore(saved.entries, Date.now());
          else
            log.warn({ file: opts.dnsStateFile, error: saved.error }, 'saved DNS answers not read; starting without');
          resolvedNames = names;
        }
        let syscallTimer: NodeJS.Timeout | undefined;

        const handle = (r: RawRecord): void => {
          switch (r.kind) {
            case 'exec':
              seen.exec++;
              metrics.event('exec');
              emit(build.exec(r));
              return;
            case 'syscall':
              seen.syscalls++;
              batcher.add(r.hdr.cgroupId, r.nr, () => build.processOf(r.hdr), build.epochNs(r.hdr.monoNs));
              // Armed only while numbers are pending, so a quiet host has no flush timer
              // waking the agent; a number still waits at most syscallFlushMs.
              syscallTimer ??= setTimeout(flushSyscalls, config.syscallFlushMs).unref();
              return;
            case 'file':
              seen.file++;
              metrics.event('file');
              emit(build.file(r));
              return;
            case 'listen':
              seen.listen++;
              metrics.event('listen');
              emit(build.sock(r));
              return;
            case 'connect':
              seen.connect++;
              metrics.event('connect');
              emit(build.sock(r, names.nameOf(r.hdr.cgroupId, r.netns, r.ip, Date.now()) ?? ''));
              return;
            case 'dns': {
              // A cut message may have lost answers past the cut: none of it is used.
              if (r.cut) return metrics.dnsAnswer('cut');
              // A socket older than the agent (socket source): no namespace to bind names to.
              if (r.netns === 0) return metrics.dnsAnswer('no_namespace');
              const parsed = parseDnsResponse(r.payload);
              if (parsed.ok) names.note(r.hdr.cgroupId, r.netns, parsed.response, Date.now());
              metrics.dnsAnswer(parsed.ok ? 'named' : parsed.error);
              return;
            }
          }
        };
        const flushSyscalls = (): void => {
          clearTimeout(syscallTimer);
          syscallTimer = undefined;
          for (const e of batcher.flush()) {
            metrics.event('syscalls');
            try {
              emit(e);
            } catch (err) {
              // emit must not throw; if it does, a timer must not take the agent down.
              log.error({ err }, 'emit threw on a syscall batch');
            }
          }
        };
        // teardown() flushes what is pending and clears the timer, also after a failed start.
        stopFlush = flushSyscalls;

        const loaded = loadSensorObject(lib, {
          path: objectPath,
          ringBufferBytes: config.ringBufferBytes,
          peerCacheEntries: config.peerCacheEntries,
          selfTgid: opts.selfTgid ?? process.pid,
          optionalPrograms: OPTIONAL_PROGRAMS,
          dnsCgroupRoot: dns.cgroupRoot,
          dnsSources: dns.sources,
          dnsResolvers: dns.resolvers.map((a) => ({ key: resolverKey(a), local: isNamespaceLocal(a) })),
          refused,
          log,
        });
        object = loaded.object;
        blindSpots.push(...loaded.blindSpots);
        // Loading parsed the kernel's BTF (megabytes of malloc'd memory, freed again by
        // libbpf); glibc keeps freed pages resident until asked to hand them back.
        lib.mallocTrim();
        programs = object.attached;
        for (const s of object.skipped) blindSpots.push(`${s.name} not attached: ${s.error}`);
        blindSpots.push(
          programs.includes('tl_uring_submit')
            ? 'io_uring: sends with a destination, UDP connects on registered (fixed) files or on descriptors the ring makes, and UDP binds are not seen'
            : 'io_uring: files opened, renamed or removed and UDP connects through a ring are not seen (tl_uring_submit is not attached; TCP connects are seen)',
        );
        dropReader = createKernelDropReader(lib, object.mapFd('drops'), object.mapFd('cgroup_drops'));
        reader = createRingReader({
          lib,
          mapFd: object.mapFd('events'),
          log,
          sink: (data, size) => {
            const out = decodeRecord(data, 0, size);
            if (out.ok) return handle(out.record);
            decodeErrors++;
            const kind = recordKindName(data, 0, size);
            const eventKind = kind ? KIND_OF_RECORD[RECORD_KIND[kind]] : undefined;
            if (eventKind) addDrop(0, eventKind, 'decode_error', 1);
            else if (kind === 'dns') metrics.dnsAnswer('undecodable');
            if (decodeErrors === 1) log.warn({ error: out.error }, 'undecodable ring buffer record');
          },
        });
        reader.start();
        timers.push(setInterval(pollKernelDrops, config.dropPollMs).unref());
        attachSeconds = (performance.now() - t0) / 1000;
        metrics.attachSeconds(attachSeconds);
        state = 'running';
        log.info(
          { programs: programs.length, attachSeconds, ringBufferBytes: config.ringBufferBytes },
          'eBPF sensor attached',
        );
      } catch (err) {
        await teardown();
        state = 'idle';
        throw err;
      }
    },

    stop() {
      if (state === 'idle' || state === 'stopped') return stopping ?? Promise.resolve();
      stopping ??= teardown().then(() => {
        state = 'stopped';
      });
      return stopping;
    },

    takeDrops(): SensorDrops {
      if (state === 'running') pollKernelDrops();
      const byCgroup = new Map<number, DropCount[]>();
      for (const [cg, m] of pending) byCgroup.set(cg, [...m.values()]);
      pending = new Map();
      return { byCgroup };
    },

    stats() {
      return { seen: { ...seen }, dropped: { ...dropped }, decodeErrors, attachSeconds, programs };
    },
  };

  let stopFlush: (() => void) | undefined;
  /** Saved at teardown when a state file is configured. */
  let resolvedNames: ResolvedNames | undefined;

  /**
   * Where the DNS programs attach, which of them and whom they believe; no cgroup root =
   * not loaded, said as a blind spot.
   */
  function dnsSetup(
    lib: Libbpf,
    netAdmin: boolean,
  ): { cgroupRoot: string | undefined; sources: DnsNamespaceSource[]; resolvers: string[] } {
    const off = { cgroupRoot: undefined, sources: [], resolvers: [] };
    if (!config.dnsNames) {
      blindSpots.push('DNS names are off (sensor.ebpf.dnsNames): external peers are reported by address only');
      return off;
    }
    const resolvers = trustedResolvers(config.dnsResolvers);
    const cgroupRoot = opts.cgroupRoot ?? findCgroupV2Root();
    const missing =
      resolvers.length === 0
        ? config.dnsResolvers !== undefined
          ? 'sensor.ebpf.dnsResolvers is empty'
          : 'no DNS resolver to believe: /etc/resolv.conf lists only addresses every network namespace has'
        : cgroupRoot === undefined
          ? 'no cgroup v2 hierarchy to attach the DNS program to'
          : !netAdmin
            ? 'no CAP_NET_ADMIN, which loading a cgroup packet program needs'
            : undefined;
    if (missing !== undefined) {
      blindSpots.push(`DNS names are not read (${missing}): external peers are reported by address only`);
      log.warn({ reason: missing }, 'DNS names are not read');
      return off;
    }
    const sources = dnsNamespaceSources(lib, opts.dnsNamespaceSource);
    log.info({ resolvers, cgroupRoot, namespaceSources: sources }, 'reading DNS answers of trusted resolvers');
    const local = resolvers.filter(isNamespaceLocal);
    if (local.length > 0)
      log.warn(
        { resolvers: local },
        'a trusted DNS resolver has an address every network namespace has: a workload in its own namespace can answer as it (docs/security.md)',
      );
    return { cgroupRoot, sources, resolvers };
  }

  async function teardown(): Promise<void> {
    for (const t of timers.splice(0)) clearInterval(t);
    try {
      // Drain what the kernel already produced, then flush pending syscall batches.
      if (reader) await reader.stop();
      stopFlush?.();
      pollKernelDrops();
      if (resolvedNames && opts.dnsStateFile) {
        const entries = resolvedNames.entries(Date.now());
        await saveResolvedNames(opts.dnsStateFile, entries).catch((err: unknown) =>
          log.warn(
            { err, file: opts.dnsStateFile },
            'DNS answers not saved; connects after the restart may lose names',
          ),
        );
      }
      if (unloggedDrops > 0) log.warn({ dropped: unloggedDrops }, 'kernel ring buffer full: observations dropped');
      unloggedDrops = 0;
    } finally {
      reader = undefined;
      dropReader = undefined;
      stopFlush = undefined;
      resolvedNames = undefined;
      const loaded = object;
      object = undefined;
      await loaded?.destroyAsync();
    }
  }

  return sensor;
}
