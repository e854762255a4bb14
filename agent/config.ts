/**
 * The node agent's configuration: parsed from the `agent` section of the config file,
 * validated with every problem listed, defaults filled in, frozen.
 */
import { hostname } from 'node:os';
import type { Problems } from '../lib/config-problems.js';
import { ConfigReader } from './config-values.js';

export interface CollectorTlsConfig {
  /** PEM bundle of CAs that may sign the collector's certificate; system roots when absent. */
  readonly caFile: string | undefined;
  /** Client certificate (PEM) for mutual TLS. */
  readonly certFile: string | undefined;
  /** Client key (PEM) for mutual TLS; required with certFile. */
  readonly keyFile: string | undefined;
  /** Name to verify in the collector's certificate, when it differs from the address host. */
  readonly serverName: string | undefined;
}

export interface CollectorConnectionConfig {
  /** "host:port" of the collector's gRPC ingest; absent when another transport is used (--print). */
  readonly address: string | undefined;
  /** Bearer token, inline. Mutually exclusive with tokenFile. */
  readonly token: string | undefined;
  /** File holding the bearer token; re-read on every connect so rotation needs no restart. */
  readonly tokenFile: string | undefined;
  /** TLS settings; undefined means plaintext (loopback or a mesh that encrypts). */
  readonly tls: CollectorTlsConfig | undefined;
  /** First reconnect delay bound; doubles up to maxBackoffMs, full jitter. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Batches written but not yet acknowledged, at most. */
  readonly maxInflightBatches: number;
  /** A stream whose oldest unacknowledged batch waits longer than this is restarted. */
  readonly ackTimeoutMs: number;
}

export interface SpoolConfig {
  /** Directory of spool segments; empty disables the spool (outages then back up into the queue). */
  readonly dir: string;
  /** Bytes on disk at most; beyond it new batches are dropped as spool_full. */
  readonly maxBytes: number;
  /** Size at which a segment file is closed and a new one started. */
  readonly segmentBytes: number;
  /** fsync of the open segment at most this often (batches appended in between share one). */
  readonly fsyncIntervalMs: number;
}

export interface PipelineConfig {
  /** Events waiting for the transport, at most; beyond it they are dropped as queue_full. */
  readonly queueSize: number;
  readonly batchMaxEvents: number;
  readonly batchMaxBytes: number;
  /** A partly filled batch is sent at most this long after its first event. */
  readonly batchMaxDelayMs: number;
  /** Distinct observations remembered per agent for de-duplication. */
  readonly dedupSize: number;
  /** A repeated observation is sent again after this long (refreshes last-seen upstream). */
  readonly dedupTtlMs: number;
  /** Files remembered per container as written by it (an exec of one is a dropped binary). */
  readonly writtenPathsPerContainer: number;
  /** Written files remembered across the node; the least recently writing containers are forgotten first. */
  readonly writtenPathsTotal: number;
  readonly reportIntervalMs: number;
  /** How long a new Kubernetes container's events wait for its pod to be known. */
  readonly podWaitMs: number;
}

export interface ContainersConfig {
  /** cgroup v2 mount point; detected from /proc/self/mountinfo when absent. */
  readonly cgroupRoot: string | undefined;
  /** cgroup id → container resolutions cached, at most. */
  readonly cacheSize: number;
  /** A cache miss re-walks the cgroup tree at most this often. */
  readonly rewalkIntervalMs: number;
  /** Cached resolutions of removed cgroups are swept this often. */
  readonly sweepIntervalMs: number;
}

export interface AgentConfig {
  /** Kubernetes node name or hostname. */
  readonly node: string;
  /** Cluster name in every WorkloadRef. */
  readonly cluster: string;
  readonly collector: CollectorConnectionConfig;
  readonly spool: SpoolConfig;
  readonly pipeline: PipelineConfig;
  readonly containers: ContainersConfig;
  /** host:port of the Prometheus /metrics listener. */
  readonly metricsListen: string;
}

const MiB = 1024 * 1024;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const DNS_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

function hostPortProblem(value: string, minPort = 1): string | undefined {
  const m = HOST_PORT.exec(value);
  if (!m) return 'must be host:port (e.g. "collector.tripline:4317", "[::1]:4317")';
  const port = Number(m[2]);
  return port < minPort || port > 65535 ? `port must be from ${minPort} to 65535` : undefined;
}

function parseTls(r: ConfigReader): CollectorTlsConfig | undefined {
  const enabled = r.boolean('enabled', true);
  const caFile = r.optionalString('caFile');
  const certFile = r.optionalString('certFile');
  const keyFile = r.optionalString('keyFile');
  const serverName = r.optionalString('serverName');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    r.bad(certFile ? 'keyFile' : 'certFile', 'certFile and keyFile must be given together', undefined);
  }
  r.rejectUnknown();
  return enabled ? { caFile, certFile, keyFile, serverName } : undefined;
}

function parseCollector(r: ConfigReader): CollectorConnectionConfig {
  const address = r.optionalString('address');
  if (address !== undefined) {
    const p = hostPortProblem(address);
    if (p) r.bad('address', p, undefined);
  }
  const token = r.optionalString('token');
  const tokenFile = r.optionalString('tokenFile');
  if (token !== undefined && tokenFile !== undefined)
    r.bad('tokenFile', 'give token or tokenFile, not both', undefined);
  const tlsReader = r.child('tls');
  const tls = tlsReader.isAbsent() ? undefined : parseTls(tlsReader);
  const initialBackoffMs = r.duration('initialBackoff', 500, 10, 60_000);
  const maxBackoffMs = r.duration('maxBackoff', 30_000, 100, 600_000);
  if (maxBackoffMs < initialBackoffMs) r.bad('maxBackoff', 'must not be below initialBackoff', undefined);
  const maxInflightBatches = r.integer('maxInflightBatches', 64, 1, 10_000);
  const ackTimeoutMs = r.duration('ackTimeout', 30_000, 100, 600_000);
  r.rejectUnknown();
  return { address, token, tokenFile, tls, initialBackoffMs, maxBackoffMs, maxInflightBatches, ackTimeoutMs };
}

function parseSpool(r: ConfigReader): SpoolConfig {
  const dir = r.string('dir', '/var/lib/tripline/spool');
  const maxBytes = r.size('maxBytes', 256 * MiB, 0, 1024 * 1024 * MiB);
  const segmentBytes = r.size('segmentBytes', 8 * MiB, 64 * 1024, 1024 * MiB);
  if (maxBytes > 0 && segmentBytes > maxBytes) r.bad('segmentBytes', 'must not exceed maxBytes', undefined);
  const fsyncIntervalMs = r.duration('fsyncInterval', 200, 0, 60_000);
  r.rejectUnknown();
  return { dir, maxBytes, segmentBytes, fsyncIntervalMs };
}

function parsePipeline(r: ConfigReader): PipelineConfig {
  const queueSize = r.integer('queueSize', 65_536, 16, 10_000_000);
  const batchMaxEvents = r.integer('batchMaxEvents', 512, 1, 100_000);
  // The collector's default gRPC receive limit is 4 MiB: stay well under it.
  const batchMaxBytes = r.size('batchMaxBytes', 1 * MiB, 1024, 3 * MiB);
  const batchMaxDelayMs = r.duration('batchMaxDelay', 200, 1, 60_000);
  if (batchMaxEvents > queueSize) r.bad('batchMaxEvents', 'must not exceed queueSize', undefined);
  const dedupSize = r.integer('dedupSize', 16_384, 0, 10_000_000);
  const dedupTtlMs = r.duration('dedupTtl', 10 * 60_000, 0, 24 * 3_600_000);
  const writtenPathsPerContainer = r.integer('writtenPathsPerContainer', 1024, 1, 1_000_000);
  const writtenPathsTotal = r.integer('writtenPathsTotal', 65_536, 1, 10_000_000);
  const reportIntervalMs = r.duration('reportInterval', 60_000, 100, 3_600_000);
  const podWaitMs = r.duration('podWait', 2_000, 0, 60_000);
  r.rejectUnknown();
  return {
    queueSize,
    batchMaxEvents,
    batchMaxBytes,
    batchMaxDelayMs,
    dedupSize,
    dedupTtlMs,
    writtenPathsPerContainer,
    writtenPathsTotal,
    reportIntervalMs,
    podWaitMs,
  };
}

function parseContainers(r: ConfigReader): ContainersConfig {
  const cgroupRoot = r.optionalString('cgroupRoot');
  if (cgroupRoot !== undefined && !cgroupRoot.startsWith('/'))
    r.bad('cgroupRoot', 'must be an absolute path', undefined);
  const cacheSize = r.integer('cacheSize', 4096, 16, 1_000_000);
  const rewalkIntervalMs = r.duration('rewalkInterval', 1_000, 0, 600_000);
  const sweepIntervalMs = r.duration('sweepInterval', 60_000, 1_000, 3_600_000);
  r.rejectUnknown();
  return { cgroupRoot, cacheSize, rewalkIntervalMs, sweepIntervalMs };
}

/**
 * Reads the agent section. Every problem is added to `problems` with its path (e.g.
 * "agent.pipeline.queueSize"); the returned config holds defaults where values were bad,
 * so callers must check `problems` before using it.
 */
export function parseAgentConfig(raw: unknown, problems: Problems, path = 'agent'): AgentConfig {
  const r = new ConfigReader(raw, path, problems);
  const node = r.string('node', hostname(), {
    pattern: DNS_NAME,
    hint: 'must be a lowercase DNS name (the Kubernetes node name)',
  });
  const cluster = r.string('cluster', 'local', {
    pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    hint: 'must be a lowercase DNS label',
  });
  const collector = parseCollector(r.child('collector'));
  const spool = parseSpool(r.child('spool'));
  const pipeline = parsePipeline(r.child('pipeline'));
  const containers = parseContainers(r.child('containers'));
  // The pod resolver's section (agent.kubernetes) is read by its own parser.
  r.owned('kubernetes');
  const metricsListen = r.string('metricsListen', '127.0.0.1:9464');
  // Port 0 picks a free port (tests, several agents on one host).
  const mp = hostPortProblem(metricsListen, 0);
  if (mp) r.bad('metricsListen', mp, undefined);
  r.rejectUnknown();
  return deepFreeze({ node, cluster, collector, spool, pipeline, containers, metricsListen });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
