/**
 * One sink's delivery loop: read the outbox from the sink's cursor, route, send in
 * batches, retry with backoff (or the sink's Retry-After), dead-letter what cannot be
 * delivered, then move the cursor. Every sink runs its own loop, so a slow or failing
 * sink delays nobody else.
 */
import type { Logger } from '../../../lib/logger.js';
import type { Result } from '../../../lib/result.js';
import { severityRank, type Incident } from '../../../proto/incident.js';
import type { Sink } from '../sink.js';
import { fullJitterDelay, sleep } from './backoff.js';
import type { DeadLetterFile } from './dead-letter.js';
import type { SinkDeliverySettings } from './delivery-config.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import type { Outbox } from './outbox.js';
import type { OutboxRecord } from './outbox-record.js';
import { createRateLimitedWarning } from './rate-limited-warning.js';

/** A sink's delivery state, for /readyz, `tripline status` and the console. */
export interface SinkHealth {
  readonly id: string;
  readonly type: string;
  /** idle (caught up), sending, retrying (waiting to retry a batch), stopped. */
  readonly state: 'idle' | 'sending' | 'retrying' | 'stopped';
  /** False while the sink's latest attempts failed. */
  readonly ok: boolean;
  /** Outbox records this sink has not finished with. */
  readonly depth: number;
  readonly oldestAgeSeconds: number;
  /** Ms since the epoch of the last successful send, undefined when none yet. */
  readonly lastSuccessMs: number | undefined;
  /** The last error the sink returned (its text, never a secret by the Sink contract). */
  readonly lastError: string | undefined;
  readonly consecutiveFailures: number;
  readonly sent: number;
  readonly deadLettered: number;
}

export interface SinkDelivery {
  /** Starts the loop. */
  start(): void;
  /** Aborts a send in flight and waits for the loop to end; the batch stays in the outbox. */
  stop(): Promise<void>;
  health(): SinkHealth;
}

export interface SinkDeliveryDeps {
  readonly outbox: Outbox;
  readonly deadLetter: DeadLetterFile;
  readonly metrics: DeliveryMetrics;
  readonly log: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Whether `record` goes to `sink` (severity floor, namespaces, digest addressing). */
export function routes(sink: Sink, record: OutboxRecord): boolean {
  const i = record.incident;
  if (record.sinks && !record.sinks.includes(sink.id)) return false;
  if (severityRank(i.severity) < severityRank(sink.minSeverity)) return false;
  return sink.namespaces.length === 0 || sink.namespaces.includes(i.workload.namespace);
}

export function createSinkDelivery(sink: Sink, settings: SinkDeliverySettings, deps: SinkDeliveryDeps): SinkDelivery {
  const log = deps.log.child({ component: 'sink-delivery', sink: sink.id });
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const deadLetterWarning = createRateLimitedWarning(log, 10_000, now);
  const stopper = new AbortController();
  let loop: Promise<void> | undefined;
  let state: SinkHealth['state'] = 'idle';
  let headAppendedMs: number | undefined;
  let retryBacklog = 0;
  let lastSuccessMs: number | undefined;
  let lastError: string | undefined;
  let consecutiveFailures = 0;
  let sent = 0;
  let deadLettered = 0;

  deps.metrics.addSink(sink.id, {
    depth: () => deps.outbox.depth(sink.id),
    oldestAgeSeconds: () => (headAppendedMs === undefined ? 0 : Math.max(0, (now() - headAppendedMs) / 1000)),
    retryBacklog: () => retryBacklog,
    lastSuccessSeconds: () => (lastSuccessMs ?? 0) / 1000,
  });

  /** One attempt, bounded by the send timeout even if the sink ignores its signal. */
  async function attempt(batch: readonly Incident[]): Promise<{ result: Result; reason: string }> {
    // One controller per attempt, aborted by stop or by the deadline; a listener rather
    // than AbortSignal.any keeps nothing attached to the long-lived stop signal.
    const controller = new AbortController();
    const signal = controller.signal;
    let timedOut = false;
    const onStop = (): void => controller.abort(new Error('stopping'));
    stopper.signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error('send timed out'));
        // Grace for a sink to notice the abort and clean up before the loop moves on.
        setTimeout(() => resolve('timeout'), 1000).unref();
      }, settings.sendTimeoutMs);
    });
    try {
      const outcome = await Promise.race([sink.send(batch, signal), expired]);
      if (outcome === 'timeout') return { result: { status: 'retryable', error: 'send timed out' }, reason: 'timeout' };
      if (outcome.status === 'retryable' && timedOut) return { result: outcome, reason: 'timeout' };
      const reason =
        outcome.status === 'retryable'
          ? outcome.retryInMillis !== undefined
            ? 'rate-limited'
            : 'retryable'
          : outcome.status;
      return { result: outcome, reason };
    } catch (err) {
      // The Sink contract says send never throws; a sink that does is treated as a
      // permanent failure of this batch rather than taking the loop down.
      return {
        result: { status: 'failure', error: err instanceof Error ? err.message : String(err) },
        reason: 'threw',
      };
    } finally {
      clearTimeout(timer);
      stopper.signal.removeEventListener('abort', onStop);
    }
  }

  async function deadLetter(batch: readonly Incident[], error: string, attempts: number): Promise<void> {
    await deps.deadLetter.write({ sink: sink.id, error, attempts, incidents: batch });
    deps.metrics.deadLettered.inc({ sink: sink.id }, batch.length);
    deadLettered += batch.length;
    deadLetterWarning.note(
      { incidents: batch.length, attempts, error },
      'gave up on incidents; written to the dead-letter file',
    );
  }

  /** Delivers or dead-letters `batch`; false only when stopped first. */
  async function deliver(batch: readonly Incident[]): Promise<boolean> {
    for (let n = 1; ; n++) {
      state = 'sending';
      const { result, reason } = await attempt(batch);
      if (result.status === 'success') {
        deps.metrics.sent.inc({ sink: sink.id }, batch.length);
        sent += batch.length;
        lastSuccessMs = now();
        consecutiveFailures = 0;
        retryBacklog = 0;
        return true;
      }
      if (stopper.signal.aborted) return false;
      deps.metrics.failures.inc({ sink: sink.id, reason });
      consecutiveFailures++;
      lastError = result.error;
      if (result.status === 'failure') {
        retryBacklog = 0;
        if (batch.length === 1) {
          await deadLetter(batch, result.error, n);
          return true;
        }
        // One bad incident must not sink its batch-mates: retry them one by one.
        for (const single of batch) if (!(await deliver([single]))) return false;
        return true;
      }
      if (n >= settings.maxAttempts) {
        retryBacklog = 0;
        await deadLetter(batch, result.error, n);
        return true;
      }
      const hinted = result.retryInMillis;
      const delay =
        hinted !== undefined
          ? Math.min(Math.max(0, hinted), settings.maxRetryAfterMs)
          : fullJitterDelay(n, settings.backoffInitialMs, settings.backoffMaxMs, random);
      if (consecutiveFailures === 1)
        log.warn({ error: result.error, reason }, 'sink send failed; retrying with backoff');
      log.debug({ attempt: n, delayMs: delay, reason }, 'retrying');
      state = 'retrying';
      retryBacklog = batch.length;
      await sleep(delay, stopper.signal);
      if (stopper.signal.aborted) return false;
    }
  }

  async function run(): Promise<void> {
    const reader = deps.outbox.reader(sink.id);
    while (!stopper.signal.aborted) {
      state = 'idle';
      let records: OutboxRecord[];
      try {
        records = await reader.next(sink.maxBatch, stopper.signal);
      } catch (err) {
        log.error({ err }, 'could not read the outbox; retrying in 1 s');
        await sleep(1000, stopper.signal);
        continue;
      }
      if (records.length === 0) continue;
      headAppendedMs = records[0]!.appendedMs;
      const batch = records.filter((r) => routes(sink, r)).map((r) => r.incident);
      if (batch.length && !(await deliver(batch))) break;
      deps.outbox.ack(sink.id, records.at(-1)!.seq);
      headAppendedMs = undefined;
      if (consecutiveFailures === 0 && lastError !== undefined) {
        log.info('sink recovered');
        lastError = undefined;
      }
    }
    state = 'stopped';
  }

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopper.abort();
      await loop;
      state = 'stopped';
    },
    health() {
      return {
        id: sink.id,
        type: sink.type,
        state,
        ok: consecutiveFailures === 0,
        depth: deps.outbox.depth(sink.id),
        oldestAgeSeconds: headAppendedMs === undefined ? 0 : Math.max(0, (now() - headAppendedMs) / 1000),
        lastSuccessMs,
        lastError,
        consecutiveFailures,
        sent,
        deadLettered,
      };
    },
  };
}
