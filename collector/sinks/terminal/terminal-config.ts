import type { Problems } from '../../../lib/config-problems.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';

export interface TerminalSinkConfig extends BaseSinkConfig {
  readonly type: 'terminal';
  /** auto (default): colour when the output is a TTY and NO_COLOR is unset. */
  readonly color: 'auto' | 'always' | 'never';
}

export function parseTerminalSinkConfig(
  raw: Record<string, unknown>,
  path: string,
  problems: Problems,
): TerminalSinkConfig {
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: 100 });
  const color = raw.color ?? 'auto';
  if (color !== 'auto' && color !== 'always' && color !== 'never')
    problems.add(`${path}.color`, 'must be auto, always or never');
  return Object.freeze({ ...base, type: 'terminal' as const, color: color as TerminalSinkConfig['color'] });
}
