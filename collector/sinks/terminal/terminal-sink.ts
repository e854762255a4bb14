/** Prints incidents one per line (terminal-line.ts) for `tripline up`. */
import { failure, SUCCESS, type Result } from '../../../lib/result.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import type { TerminalSinkConfig } from './terminal-config.js';
import { formatIncidentLine } from './terminal-line.js';

export interface TerminalSinkDeps extends SinkDeps {
  /** Where lines go (default process.stdout). */
  readonly out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The environment consulted for NO_COLOR (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export function createTerminalSink(config: TerminalSinkConfig, deps: TerminalSinkDeps): Sink {
  const out = deps.out ?? process.stdout;
  const env = deps.env ?? process.env;
  const colour = config.color === 'always' || (config.color === 'auto' && out.isTTY === true && !env.NO_COLOR);

  function drained(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        out.off('drain', onDrain);
        out.off('error', onError);
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onError = (): void => done(false);
      // Aborted (stop or timeout): the lines are queued in the stream already.
      const onAbort = (): void => done(true);
      out.once('drain', onDrain);
      out.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  return {
    id: config.id,
    type: 'terminal',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,
    async send(incidents, signal): Promise<Result> {
      const text = incidents.map((i) => formatIncidentLine(i, colour) + '\n').join('');
      try {
        if (out.write(text)) return SUCCESS;
      } catch (err) {
        return failure(`terminal write failed: ${(err as Error).message}`);
      }
      // The lines are queued in the stream; wait for it to drain so a stalled terminal
      // slows this sink (and only this sink) instead of growing memory.
      return (await drained(signal)) ? SUCCESS : failure('terminal output failed');
    },
    async close() {},
  };
}
