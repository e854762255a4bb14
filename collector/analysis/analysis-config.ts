import type { Problems } from '../../lib/config-problems.js';
import { parseDuration } from '../../lib/duration.js';
import { asObject, checkKeys } from '../policy/policy-config.js';
import { DEFAULT_EPHEMERAL_PORT_MIN } from '../profiles/generalise.js';

/** The `analysis` section of the collector config. */
export interface AnalysisConfig {
  /** How often changed profiles are persisted and learning windows re-checked. */
  readonly persistEveryMs: number;
  /** How often a profile whose only change is counts and last-seen times is persisted. */
  readonly statsPersistEveryMs: number;
  /** Ports at or above this are keyed "ephemeral". */
  readonly ephemeralPortMin: number;
  /** Items per profile; past it nothing new is learned (and a metric counts it). */
  readonly maxItemsPerProfile: number;
}

export function parseAnalysisConfig(raw: unknown, problems: Problems, path = 'analysis'): AnalysisConfig {
  const o = asObject(raw ?? {}, path, problems);
  const keys = ['persistEvery', 'statsPersistEvery', 'ephemeralPortMin', 'maxItemsPerProfile'];
  checkKeys(o, path, problems, keys);
  const duration = (k: string, def: number, min: number): number => {
    if (o[k] === undefined) return def;
    const ms = parseDuration(o[k]);
    if (ms === undefined || ms < min) {
      problems.add(`${path}.${k}`, `must be a duration of at least ${min} ms, e.g. "30s"`);
      return def;
    }
    return ms;
  };
  const int = (k: string, def: number, min: number, max: number): number => {
    if (o[k] === undefined) return def;
    const n = o[k];
    if (!Number.isInteger(n) || (n as number) < min || (n as number) > max) {
      problems.add(`${path}.${k}`, `must be an integer from ${min} to ${max}`);
      return def;
    }
    return n as number;
  };
  return Object.freeze({
    persistEveryMs: duration('persistEvery', 30_000, 100),
    statsPersistEveryMs: duration('statsPersistEvery', 10 * 60_000, 1000),
    ephemeralPortMin: int('ephemeralPortMin', DEFAULT_EPHEMERAL_PORT_MIN, 1024, 65535),
    maxItemsPerProfile: int('maxItemsPerProfile', 5000, 10, 1_000_000),
  });
}
