import type { TriplineEvent } from '../../proto/events.js';
import type { AgentReport } from '../../proto/report.js';

/** Who sent a batch, for logs and per-agent state. */
export interface BatchSource {
  /** Authenticated identity of the agent. */
  readonly identity: string;
  /** Node name the agent reported. */
  readonly node: string;
  /** The agent's run id (changes when the agent restarts). */
  readonly agentRunId: string;
}

/**
 * The analysis pipeline (enrich → profiles → detect → incidents) as ingest sees it.
 * Ingest acknowledges a batch only after `apply` resolved.
 */
export interface Intake {
  /** Applies decoded events in order; never rejects for one bad event (it is counted). */
  apply(events: readonly TriplineEvent[], source: BatchSource): Promise<void>;
  /** Folds an agent report in (drops mark profiles learned blind as partial). */
  applyReport(report: AgentReport, source: BatchSource): void;
}
