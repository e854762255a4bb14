import type { Logger } from '../../lib/logger.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Resolves once SIGINT or SIGTERM arrived and `parts` were stopped in order (flow order:
 * agent first, so its last batches still reach the collector). A second signal exits at
 * once with 130; a failed stop sets exit code 1.
 */
export function stopOnSignals(log: Logger, parts: readonly Stoppable[]): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean stop');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      (async () => {
        for (const p of parts) await p.stop();
      })().then(resolve, (err: unknown) => {
        log.error({ err }, 'clean stop failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
