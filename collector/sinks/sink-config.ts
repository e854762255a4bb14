import type { Logger } from '../../lib/logger.js';
import type { Registry } from 'prom-client';
import type { Problems } from '../../lib/config-problems.js';
import { SEVERITIES, type Severity } from '../../proto/incident.js';

/** Settings every sink has, whatever its type. */
export interface BaseSinkConfig {
  /** Unique id, used as the metric label and in logs. */
  readonly id: string;
  readonly type: string;
  /** Route only incidents at or above this severity (default 'low'). */
  readonly minSeverity: Severity;
  /** Route only incidents from these namespaces (empty = all). */
  readonly namespaces: readonly string[];
  /** Most incidents per send (default per type). */
  readonly maxBatch: number;
}

/** What a sink factory receives besides its own config. */
export interface SinkDeps {
  readonly log: Logger;
  readonly registry: Registry;
}

/** Reads the common sink fields at `path` (e.g. "sinks[2]"), listing every problem. */
export function parseBaseSinkConfig(
  raw: Record<string, unknown>,
  path: string,
  problems: Problems,
  defaults: { maxBatch: number },
): BaseSinkConfig {
  const id = raw.id;
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) {
    problems.add(`${path}.id`, 'must be a lowercase name of letters, digits and dashes (≤ 63)');
  }
  const type = raw.type;
  if (typeof type !== 'string' || type === '') problems.add(`${path}.type`, 'is required');
  const minSeverity = raw.minSeverity ?? 'low';
  if (!SEVERITIES.includes(minSeverity as Severity)) {
    problems.add(`${path}.minSeverity`, `must be one of ${SEVERITIES.join(', ')}`);
  }
  const namespaces = raw.namespaces ?? [];
  if (!Array.isArray(namespaces) || !namespaces.every((n) => typeof n === 'string')) {
    problems.add(`${path}.namespaces`, 'must be a list of namespace names');
  }
  const maxBatch = raw.maxBatch ?? defaults.maxBatch;
  if (!Number.isInteger(maxBatch) || (maxBatch as number) < 1 || (maxBatch as number) > 10_000) {
    problems.add(`${path}.maxBatch`, 'must be an integer from 1 to 10000');
  }
  return {
    id: String(id),
    type: String(type),
    minSeverity: minSeverity as Severity,
    namespaces: Array.isArray(namespaces) ? namespaces.map(String) : [],
    maxBatch: Number(maxBatch),
  };
}
