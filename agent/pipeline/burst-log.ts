/**
 * Logs a recurring problem once per burst with a count, instead of once per event: the
 * first occurrence is logged at once, later ones are summed and logged when the burst
 * window closes.
 */
import type { Logger } from '../../lib/logger.js';

export interface BurstLog {
  /** Records `n` occurrences of `reason` (a bounded label). */
  note(reason: string, n: number): void;
  /** Logs what is pending and stops the timer. */
  close(): void;
}

export function createBurstLog(log: Logger, message: string, windowMs = 10_000): BurstLog {
  const pending = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  function report(): void {
    timer = undefined;
    for (const [reason, count] of pending) log.warn({ reason, count }, `${message} (since the first in this burst)`);
    pending.clear();
  }

  return {
    note(reason, n) {
      if (timer === undefined) {
        log.warn({ reason, count: n }, message);
        timer = setTimeout(report, windowMs);
        timer.unref();
        return;
      }
      pending.set(reason, (pending.get(reason) ?? 0) + n);
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      report();
    },
  };
}
