import type { Logger } from '../../../lib/logger.js';

/**
 * A warning that repeats at most once per interval, carrying how many times it happened
 * meanwhile, so a flood of one failure stays loud without flooding the log.
 */
export interface RateLimitedWarning {
  /** Records one occurrence; logs at warn level when the interval has passed. */
  note(fields: Record<string, unknown>, msg: string): void;
}

export function createRateLimitedWarning(
  log: Logger,
  intervalMs: number,
  now: () => number = Date.now,
  level: 'warn' | 'error' = 'warn',
): RateLimitedWarning {
  let last = -Infinity;
  let suppressed = 0;
  return {
    note(fields, msg) {
      const t = now();
      if (t - last < intervalMs) {
        suppressed++;
        return;
      }
      log[level]({ ...fields, occurrences: suppressed + 1 }, msg);
      last = t;
      suppressed = 0;
    },
  };
}
