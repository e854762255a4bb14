import type { EmitFn } from '../sensors/sensor.js';

/**
 * Between the sensor and the transport: fills identity (node, sequence, container),
 * drops repeats, queues, batches, and produces the periodic AgentReport.
 */
export interface Pipeline {
  /** The sensor's emit function; never throws, never blocks. */
  readonly emit: EmitFn;
  /** Events waiting (queued, or held for their pod), for tests and metrics. */
  readonly depth: number;
  /** Starts the batch and report timers. */
  start(): void;
  /**
   * Sends everything queued and a final report, waiting at most `timeoutMs` (default 5 s)
   * for a saturated transport, then stops the timers; safe to call twice.
   */
  stop(timeoutMs?: number): Promise<void>;
}
