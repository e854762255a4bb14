/**
 * Replays recorded observations from a JSON-lines file (one event per line, the format
 * `tripline agent --print` writes; see agent/transport/event-json.ts). Used by tests,
 * demos and bug reports. Events keep the container identity they were recorded with, so
 * a recording made on another node replays under the same workloads. Lines that are
 * not valid events are skipped, counted in the summary and logged: they have no kind, so
 * they cannot be reported as per-kind drops.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Logger } from '../../../lib/logger.js';
import { eventFromJsonLine } from '../../transport/event-json.js';
import type { EmitFn, Sensor, SensorDrops } from '../sensor.js';

export interface ReplaySensorOptions {
  /** File of JSON lines. */
  readonly path: string;
  readonly log: Logger;
  /** Events per second; 0 (default) replays as fast as the pipeline takes them. */
  readonly eventsPerSecond?: number;
}

export interface ReplaySummary {
  readonly emitted: number;
  readonly invalid: number;
}

/** A Sensor that also says when the whole file was replayed. */
export interface ReplaySensor extends Sensor {
  /** Resolves when the file was read to the end (or stop() was called); rejects if it cannot be read. */
  readonly finished: Promise<ReplaySummary>;
}

export function createReplaySensor(opts: ReplaySensorOptions): ReplaySensor {
  const log = opts.log.child({ component: 'replay-sensor', path: opts.path });
  let stopped = false;
  let input: ReturnType<typeof createReadStream> | undefined;
  let resolveFinished!: (s: ReplaySummary) => void;
  let rejectFinished!: (e: Error) => void;
  const finished = new Promise<ReplaySummary>((res, rej) => {
    resolveFinished = res;
    rejectFinished = rej;
  });
  // Callers that only use the Sensor side must not see an unhandled rejection.
  finished.catch(() => {});

  async function run(emit: EmitFn, lines: AsyncIterable<string>): Promise<ReplaySummary> {
    let emitted = 0;
    let invalid = 0;
    const gapMs = opts.eventsPerSecond ? 1000 / opts.eventsPerSecond : 0;
    const startedAt = Date.now();
    let lineNo = 0;
    for await (const line of lines) {
      if (stopped) break;
      lineNo++;
      if (line.trim() === '') continue;
      const r = eventFromJsonLine(line);
      if (!r.ok) {
        invalid++;
        log.debug({ line: lineNo, error: r.error }, 'skipped a line that is not an event');
        continue;
      }
      emit(r.event);
      emitted++;
      if (gapMs > 0) {
        const due = startedAt + emitted * gapMs - Date.now();
        if (due > 0) await new Promise((res) => setTimeout(res, due));
      } else if (emitted % 1024 === 0) {
        // Let timers (batch flushes, reports) run between chunks of a large file.
        await new Promise((res) => setImmediate(res));
      }
    }
    return { emitted, invalid };
  }

  return {
    name: 'replay',
    blindSpots: ['live activity (replays a recording)'],
    finished,
    async start(emit) {
      const stream = createReadStream(opts.path, { encoding: 'utf8' });
      input = stream;
      await new Promise<void>((res, rej) => {
        stream.once('open', () => res());
        stream.once('error', rej);
      });
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      run(emit, lines).then(
        (summary) => {
          if (summary.invalid) log.warn(summary, 'replay finished; some lines were not events');
          else log.info(summary, 'replay finished');
          resolveFinished(summary);
        },
        (err: Error) => {
          log.error({ err }, 'replay failed');
          rejectFinished(err);
        },
      );
    },
    async stop() {
      stopped = true;
      input?.destroy();
    },
    takeDrops(): SensorDrops {
      // A recording has no kernel between it and us: nothing is ever dropped before emit.
      return { byCgroup: new Map() };
    },
  };
}
