/**
 * Configuration of the eBPF sensor (the `sensor.ebpf` section of the agent config).
 */
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
}

export const EBPF_SENSOR_DEFAULTS: EbpfSensorConfig = Object.freeze({
  objectPath: undefined,
  ringBufferBytes: 16 * 1024 * 1024,
  peerCacheEntries: 65536,
  syscallFlushMs: 1000,
  dropPollMs: 1000,
  mountTracefs: true,
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
  if (r.mountTracefs !== undefined) {
    if (typeof r.mountTracefs === 'boolean') out.mountTracefs = r.mountTracefs;
    else problems.add(`${path}.mountTracefs`, 'must be true or false');
  }
  return Object.freeze(out);
}
