/**
 * Configuration of the eBPF sensor (the `sensor.ebpf` section of the agent config).
 */
import { isIP } from 'node:net';
import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';

export interface EbpfSensorConfig {
  /** The compiled BPF object; undefined → $TRIPLINE_BPF_OBJECT, else agent/bpf/.output/tripline.bpf.o. */
  readonly objectPath: string | undefined;
  /** Ring buffer size in bytes: a power of two, at least one page. */
  readonly ringBufferBytes: number;
  /** Entries of the in-kernel (process, protocol, peer) dedup cache for egress. */
  readonly peerCacheEntries: number;
  /** How often newly seen syscalls are emitted as one SyscallsEvent per cgroup. */
  readonly syscallFlushMs: number;
  /** How often kernel drop counters are read into metrics and takeDrops(). */
  readonly dropPollMs: number;
  /** Mount tracefs at /sys/kernel/tracing when no tracefs is mounted (tracepoint ids live there). */
  readonly mountTracefs: boolean;
  /** Name the peers of connects after the DNS answers their container received. */
  readonly dnsNames: boolean;
  /**
   * Resolvers whose answers are believed. undefined: the non-loopback nameservers of
   * /etc/resolv.conf (in a cluster, the cluster DNS service). A loopback address must be
   * listed explicitly: every network namespace has its own loopback, so a workload could
   * answer from it itself.
   */
  readonly dnsResolvers: readonly string[] | undefined;
  /** How long an answered address keeps its name at least, past a shorter TTL. */
  readonly dnsRetentionMs: number;
}

export const EBPF_SENSOR_DEFAULTS: EbpfSensorConfig = Object.freeze({
  objectPath: undefined,
  ringBufferBytes: 16 * 1024 * 1024,
  peerCacheEntries: 65536,
  syscallFlushMs: 1000,
  dropPollMs: 1000,
  mountTracefs: true,
  dnsNames: true,
  dnsResolvers: undefined,
  dnsRetentionMs: 10 * 60_000,
});

const KEYS = new Set(Object.keys(EBPF_SENSOR_DEFAULTS));
const PAGE = 4096;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * Reads `raw` (undefined → all defaults), reporting every problem under `path` to
 * `problems`; returns a frozen config (defaults where a value was invalid).
 */
export function parseEbpfSensorConfig(raw: unknown, problems: Problems, path = 'sensor.ebpf'): EbpfSensorConfig {
  if (raw === undefined || raw === null) return EBPF_SENSOR_DEFAULTS;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add(path, 'must be an object');
    return EBPF_SENSOR_DEFAULTS;
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!KEYS.has(key)) problems.add(`${path}.${key}`, 'unknown setting');
  const out: { -readonly [K in keyof EbpfSensorConfig]: EbpfSensorConfig[K] } = { ...EBPF_SENSOR_DEFAULTS };

  if (r.objectPath !== undefined) {
    if (typeof r.objectPath === 'string' && r.objectPath.length > 0) out.objectPath = r.objectPath;
    else problems.add(`${path}.objectPath`, 'must be a non-empty path');
  }
  if (r.ringBufferBytes !== undefined) {
    const n = r.ringBufferBytes;
    if (typeof n === 'number' && isPowerOfTwo(n) && n >= PAGE && n <= 1024 * 1024 * 1024) out.ringBufferBytes = n;
    else problems.add(`${path}.ringBufferBytes`, `must be a power of two between ${PAGE} and 1 GiB, got ${String(n)}`);
  }
  if (r.peerCacheEntries !== undefined) {
    const n = r.peerCacheEntries;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 64 && n <= 16_777_216) out.peerCacheEntries = n;
    else problems.add(`${path}.peerCacheEntries`, `must be an integer between 64 and 16777216, got ${String(n)}`);
  }
  for (const key of ['syscallFlushMs', 'dropPollMs'] as const) {
    const v = r[key];
    if (v === undefined) continue;
    const ms = parseDuration(v);
    if (ms !== undefined && ms >= 10 && ms <= 3_600_000) out[key] = ms;
    else problems.add(`${path}.${key}`, `must be a duration between 10ms and 1h ("500ms", "2s"), got ${String(v)}`);
  }
  for (const key of ['mountTracefs', 'dnsNames'] as const) {
    const v = r[key];
    if (v === undefined) continue;
    if (typeof v === 'boolean') out[key] = v;
    else problems.add(`${path}.${key}`, 'must be true or false');
  }
  if (r.dnsResolvers !== undefined) {
    const v = r.dnsResolvers;
    const bad = Array.isArray(v) ? v.filter((a) => typeof a !== 'string' || isIP(a) === 0) : undefined;
    if (Array.isArray(v) && v.length <= 64 && bad?.length === 0) out.dnsResolvers = Object.freeze([...(v as string[])]);
    else if (bad?.length) problems.add(`${path}.dnsResolvers`, `not IP addresses: ${bad.map(String).join(', ')}`);
    else problems.add(`${path}.dnsResolvers`, 'must be a list of at most 64 IP addresses');
  }
  if (r.dnsRetentionMs !== undefined) {
    const ms = parseDuration(r.dnsRetentionMs);
    if (ms !== undefined && ms >= 0 && ms <= 86_400_000) out.dnsRetentionMs = ms;
    else
      problems.add(`${path}.dnsRetentionMs`, `must be a duration up to 24h ("10m"), got ${String(r.dnsRetentionMs)}`);
  }
  return Object.freeze(out);
}
