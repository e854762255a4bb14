/** An in-process Sink for delivery tests: records what it accepts, answers as told. */
import type { Result } from '../../../../lib/result.js';
import type { Incident, Severity } from '../../../../proto/incident.js';
import type { Sink } from '../../../../collector/sinks/sink.js';

export interface RecordingSink extends Sink {
  readonly accepted: Incident[];
  readonly attempts: Array<{ at: number; size: number }>;
}

export function recordingSink(
  id: string,
  answer: (batch: readonly Incident[], attempt: number, signal: AbortSignal) => Result | Promise<Result> = () => ({
    status: 'success',
  }),
  opts: { minSeverity?: Severity; namespaces?: string[]; maxBatch?: number } = {},
): RecordingSink {
  const accepted: Incident[] = [];
  const attempts: Array<{ at: number; size: number }> = [];
  return {
    id,
    type: 'recording',
    minSeverity: opts.minSeverity ?? 'info',
    namespaces: opts.namespaces ?? [],
    maxBatch: opts.maxBatch ?? 100,
    accepted,
    attempts,
    async send(batch, signal) {
      attempts.push({ at: Date.now(), size: batch.length });
      const r = await answer(batch, attempts.length, signal);
      if (r.status === 'success') accepted.push(...batch);
      return r;
    },
    async close() {},
  };
}
