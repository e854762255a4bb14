import type { Incident, Severity } from '../../proto/incident.js';
import type { ItemKind, ProfileSnapshot } from '../../proto/profile.js';
import type { DeadLetterListing } from '../sinks/delivery/dead-letter-reader.js';
import type { ResendReport } from '../sinks/delivery/dead-letter-resend.js';

export type { DeadLetterListing, ResendReport };

/**
 * Outcome of a tuning operation. Errors are bounded codes: 'not-found' and
 * 'no-such-item' map to HTTP 404, 'not-saved' (the store refused) to 503, others to 400.
 */
export type OperationResult =
  { readonly ok: true } | { readonly ok: false; readonly error: string; readonly detail?: string };

/** The profile operations the API, CLI and console offer (DESIGN.md "Tuning"). */
export interface ProfileOperations {
  /** Every profile. */
  listProfiles(): readonly ProfileSnapshot[];
  /** One profile by workload key. */
  getProfile(key: string): ProfileSnapshot | undefined;
  /** Adds an item to the baseline with origin 'approved'. */
  approve(key: string, kind: ItemKind, itemKey: string): Promise<OperationResult>;
  /** Removes an item from the baseline. */
  removeItem(key: string, kind: ItemKind, itemKey: string): Promise<OperationResult>;
  /** Discards learned items and starts learning again. */
  relearn(key: string): Promise<OperationResult>;
  /** Stops automatic learning; only people change the profile afterwards. */
  lock(key: string): Promise<OperationResult>;
}

/** Filters for listing incidents. */
export interface IncidentFilter {
  readonly rule?: string;
  readonly minSeverity?: Severity;
  readonly workload?: string;
  readonly limit?: number;
}

/** The incident queries the API offers. */
export interface IncidentQueries {
  list(filter: IncidentFilter): readonly Incident[];
  get(id: string): Incident | undefined;
  /**
   * Dead-lettered incidents, oldest first. Optional (like `resendDeadLetters`) because
   * only the incident pipeline has a dead-letter file; without it the routes answer 404.
   */
  deadLetters?(filter: { readonly sink?: string; readonly limit?: number }): Promise<DeadLetterListing>;
  /** Re-queues dead-lettered incidents for delivery to their sink (or to `sink` only). */
  resendDeadLetters?(filter: { readonly sink?: string }): Promise<ResendReport>;
}

/** One component's health, shown on /readyz and in `tripline status`. */
export interface ComponentHealth {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}
