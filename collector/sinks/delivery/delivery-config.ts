import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';

/** Retry behaviour of one sink's delivery loop. */
export interface SinkDeliverySettings {
  /** Attempts per batch before its incidents go to the dead-letter file (default 20). */
  readonly maxAttempts: number;
  /** First backoff ceiling (default 500 ms); doubles per attempt up to backoffMaxMs. */
  readonly backoffInitialMs: number;
  /** Backoff ceiling (default 5 min). */
  readonly backoffMaxMs: number;
  /** A send that has not finished after this is aborted and retried (default 30 s). */
  readonly sendTimeoutMs: number;
  /** Longest Retry-After honoured; longer hints are cut to this (default 1 h). */
  readonly maxRetryAfterMs: number;
  /** Send a digest revision of incidents that grew since last sent, this often (0 = never, the default). */
  readonly digestIntervalMs: number;
}

export interface DeliveryConfig {
  /** Defaults for every sink. */
  readonly defaults: SinkDeliverySettings;
  /** Overrides by sink id. */
  readonly sinks: Readonly<Record<string, SinkDeliverySettings>>;
  /** Dead-letter file size before it is rotated (default 64 MiB). */
  readonly deadLetterMaxBytes: number;
}

const BUILT_IN: SinkDeliverySettings = {
  maxAttempts: 20,
  backoffInitialMs: 500,
  backoffMaxMs: 300_000,
  sendTimeoutMs: 30_000,
  maxRetryAfterMs: 3_600_000,
  digestIntervalMs: 0,
};

/** Reads `delivery` (raw may be undefined), reporting every problem under `path`. */
export function parseDeliveryConfig(raw: unknown, path: string, problems: Problems): DeliveryConfig {
  const obj = asObject(raw, path, problems);
  const defaults = parseSettings(obj, path, problems, BUILT_IN);
  const sinks: Record<string, SinkDeliverySettings> = {};
  const rawSinks = asObject(obj.sinks, `${path}.sinks`, problems);
  for (const [id, value] of Object.entries(rawSinks)) {
    sinks[id] = parseSettings(
      asObject(value, `${path}.sinks.${id}`, problems),
      `${path}.sinks.${id}`,
      problems,
      defaults,
    );
  }
  const deadLetterMaxBytes = parseBytes(obj.deadLetterMaxBytes, `${path}.deadLetterMaxBytes`, problems, 64 * 2 ** 20);
  return Object.freeze({ defaults, sinks: Object.freeze(sinks), deadLetterMaxBytes });
}

/** The settings that apply to `sinkId`. */
export function settingsFor(config: DeliveryConfig, sinkId: string): SinkDeliverySettings {
  return config.sinks[sinkId] ?? config.defaults;
}

function parseSettings(
  obj: Record<string, unknown>,
  path: string,
  problems: Problems,
  base: SinkDeliverySettings,
): SinkDeliverySettings {
  const ms = (key: string, fallback: number, min: number): number => {
    if (obj[key] === undefined) return fallback;
    const v = parseDuration(obj[key]);
    if (v === undefined || v < min) {
      problems.add(`${path}.${key}`, `must be a duration like "500ms", "30s" or "5m" (at least ${min} ms)`);
      return fallback;
    }
    return v;
  };
  let maxAttempts = base.maxAttempts;
  if (obj.maxAttempts !== undefined) {
    if (!Number.isInteger(obj.maxAttempts) || (obj.maxAttempts as number) < 1) {
      problems.add(`${path}.maxAttempts`, 'must be an integer ≥ 1');
    } else maxAttempts = obj.maxAttempts as number;
  }
  const settings = {
    maxAttempts,
    backoffInitialMs: ms('backoffInitial', base.backoffInitialMs, 1),
    backoffMaxMs: ms('backoffMax', base.backoffMaxMs, 1),
    sendTimeoutMs: ms('sendTimeout', base.sendTimeoutMs, 100),
    maxRetryAfterMs: ms('maxRetryAfter', base.maxRetryAfterMs, 0),
    digestIntervalMs: ms('digestInterval', base.digestIntervalMs, 0),
  };
  if (settings.backoffMaxMs < settings.backoffInitialMs)
    problems.add(`${path}.backoffMax`, 'must not be below backoffInitial');
  if (settings.digestIntervalMs > 0 && settings.digestIntervalMs < 1000)
    problems.add(`${path}.digestInterval`, 'must be 0 (off) or at least 1s');
  return Object.freeze(settings);
}

function asObject(raw: unknown, path: string, problems: Problems): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add(path, 'must be a mapping');
    return {};
  }
  return raw as Record<string, unknown>;
}

/** A byte size: a number of bytes or "512KiB", "64MiB", "1GiB". */
export function parseBytes(raw: unknown, path: string, problems: Problems, fallback: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > 0) return raw;
  const m = typeof raw === 'string' ? /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/.exec(raw) : null;
  if (!m) {
    problems.add(path, 'must be a byte size like 1048576, "512KiB", "64MiB" or "1GiB"');
    return fallback;
  }
  const unit = { B: 1, KiB: 1024, MiB: 2 ** 20, GiB: 2 ** 30 }[(m[2] ?? 'B') as 'B'];
  return Number(m[1]) * unit;
}
