/**
 * Polling for tests: wait for a condition that an event cannot signal directly (kernel
 * state, a file appearing, a sensor having delivered something) without fixed sleeps.
 */

export interface WaitOptions {
  /** Give up after this many milliseconds (default 5000). */
  readonly timeoutMs?: number;
  /** Poll interval in milliseconds (default 20). */
  readonly intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  readonly what?: string;
}

/**
 * Resolves with the first truthy value `predicate` returns; rejects after `timeoutMs`
 * with the last error the predicate threw, if any. The predicate may be async.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = opts.what ?? 'condition';
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
