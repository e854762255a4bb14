import type { Incident, Severity } from '../../proto/incident.js';
import type { Result } from '../../lib/result.js';

/**
 * A destination for incidents (terminal, webhook, syslog, HEC, Elasticsearch, Kafka,
 * Alertmanager). The outbox calls `send` with batches and owns retries: a sink makes one
 * attempt and says whether it is worth another.
 */
export interface Sink {
  /** Unique id from config, e.g. "soc-webhook"; a bounded metric label. */
  readonly id: string;
  /** The sink type, e.g. "webhook", "syslog". */
  readonly type: string;
  /** Only incidents at or above this severity are routed here. */
  readonly minSeverity: Severity;
  /** When non-empty, only incidents from these namespaces are routed here. */
  readonly namespaces: readonly string[];
  /** Largest batch `send` accepts. */
  readonly maxBatch: number;
  /**
   * One delivery attempt of `incidents` (in order). Never throws: 'retryable' for
   * timeouts, 429 and 5xx (with retryInMillis from Retry-After when given), 'failure'
   * for what no retry can fix.
   */
  send(incidents: readonly Incident[], signal: AbortSignal): Promise<Result>;
  /** Releases connections. */
  close(): Promise<void>;
}
