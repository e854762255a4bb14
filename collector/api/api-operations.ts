import type { Incident, Severity } from '../../proto/incident.js';
import type { ItemKind, ProfileSnapshot } from '../../proto/profile.js';

/** Outcome of a tuning operation; `not-found` maps to HTTP 404, `invalid` to 400. */
export type OperationResult = { ok: true } | { ok: false; error: 'not-found' | 'invalid'; message: string };

/** The profile operations the API, CLI and console offer (DESIGN.md "Tuning"). */
export interface ProfileOperations {
  /** Every profile, without items' detail trimmed. */
  listProfiles(): readonly ProfileSnapshot[];
  /** One profile by workload key. */
  getProfile(key: string): ProfileSnapshot | undefined;
  /** Adds an item to the baseline with origin 'approved'. */
  approve(key: string, kind: ItemKind, itemKey: string): OperationResult;
  /** Removes an item from the baseline. */
  removeItem(key: string, kind: ItemKind, itemKey: string): OperationResult;
  /** Discards learned items and starts learning again. */
  relearn(key: string): OperationResult;
  /** Stops automatic learning; only people change the profile afterwards. */
  lock(key: string): OperationResult;
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
}

/** One component's health, shown on /readyz and in `tripline status`. */
export interface ComponentHealth {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}
