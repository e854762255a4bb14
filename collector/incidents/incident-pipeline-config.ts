import type { Problems } from '../../lib/config-problems.js';
import { parseDuration } from '../../lib/duration.js';
import { parseBytes, parseDeliveryConfig, type DeliveryConfig } from '../sinks/delivery/delivery-config.js';
import type { WhenFull } from '../sinks/delivery/outbox.js';

export interface OutboxConfig {
  /** Outbox size bound (default 256 MiB). */
  readonly maxBytes: number;
  /** Segment file size (default 8 MiB); whole segments are deleted once every sink passed them. */
  readonly segmentBytes: number;
  /** drop-oldest (default): lagging sinks lose the oldest records; refuse-new: new revisions are not recorded. */
  readonly whenFull: WhenFull;
  /** Group-commit interval for fsync (default 5 ms). */
  readonly fsyncIntervalMs: number;
}

export interface IncidentPipelineConfig {
  /** An ongoing incident is re-sent at most once per window (default 1 h). */
  readonly windowMs: number;
  /** Open incidents kept (default 10000). */
  readonly maxOpen: number;
  /** Open incidents kept per workload (default 500). */
  readonly maxOpenPerWorkload: number;
  /** Evicted incident ids whose revision is remembered (default 100000). */
  readonly maxRemembered: number;
  /** New incidents sent per workload per minute; more are held and sent later (default 600, 0 = no limit). */
  readonly maxNewPerWorkloadPerMinute: number;
  /** How often the aggregation table is written to the data dir (default 10 s). */
  readonly snapshotIntervalMs: number;
  readonly outbox: OutboxConfig;
  readonly delivery: DeliveryConfig;
}

/** Reads the `incidents` section (raw may be undefined: all defaults). */
export function parseIncidentPipelineConfig(
  raw: unknown,
  problems: Problems,
  path = 'incidents',
): IncidentPipelineConfig {
  const obj = mapping(raw, path, problems);
  const ms = (o: Record<string, unknown>, p: string, key: string, fallback: number, min: number): number => {
    if (o[key] === undefined) return fallback;
    const v = parseDuration(o[key]);
    if (v === undefined || v < min) {
      problems.add(`${p}.${key}`, `must be a duration like "5ms", "10s" or "1h" (at least ${min} ms)`);
      return fallback;
    }
    return v;
  };
  const int = (o: Record<string, unknown>, p: string, key: string, fallback: number, min: number): number => {
    if (o[key] === undefined) return fallback;
    if (!Number.isInteger(o[key]) || (o[key] as number) < min) {
      problems.add(`${p}.${key}`, `must be an integer ≥ ${min}`);
      return fallback;
    }
    return o[key] as number;
  };
  const ob = mapping(obj.outbox, `${path}.outbox`, problems);
  const op = `${path}.outbox`;
  const whenFull = ob.whenFull ?? 'drop-oldest';
  if (whenFull !== 'drop-oldest' && whenFull !== 'refuse-new')
    problems.add(`${op}.whenFull`, 'must be drop-oldest or refuse-new');
  const outbox: OutboxConfig = Object.freeze({
    maxBytes: parseBytes(ob.maxBytes, `${op}.maxBytes`, problems, 256 * 2 ** 20),
    segmentBytes: parseBytes(ob.segmentBytes, `${op}.segmentBytes`, problems, 8 * 2 ** 20),
    whenFull: whenFull === 'refuse-new' ? 'refuse-new' : 'drop-oldest',
    fsyncIntervalMs: ms(ob, op, 'fsyncInterval', 5, 0),
  });
  // drop-oldest frees whole sealed segments; with fewer than four there is little to free.
  if (outbox.segmentBytes * 4 > outbox.maxBytes)
    problems.add(`${op}.segmentBytes`, 'must be at most a quarter of maxBytes');
  if (outbox.segmentBytes < 64 * 1024) problems.add(`${op}.segmentBytes`, 'must be at least 64KiB');
  const config: IncidentPipelineConfig = {
    windowMs: ms(obj, path, 'window', 3_600_000, 1000),
    maxOpen: int(obj, path, 'maxOpen', 10_000, 1),
    maxOpenPerWorkload: int(obj, path, 'maxOpenPerWorkload', 500, 1),
    maxRemembered: int(obj, path, 'maxRemembered', 100_000, 0),
    maxNewPerWorkloadPerMinute: int(obj, path, 'maxNewPerWorkloadPerMinute', 600, 0),
    snapshotIntervalMs: ms(obj, path, 'snapshotInterval', 10_000, 100),
    outbox,
    delivery: parseDeliveryConfig(obj.delivery, `${path}.delivery`, problems),
  };
  if (config.maxOpenPerWorkload > config.maxOpen) problems.add(`${path}.maxOpenPerWorkload`, 'must not exceed maxOpen');
  return Object.freeze(config);
}

function mapping(raw: unknown, path: string, problems: Problems): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add(path, 'must be a mapping');
    return {};
  }
  return raw as Record<string, unknown>;
}
