import type { ItemKind, ProfileItemSnapshot, ProfileSnapshot } from '../../proto/profile.js';
import type { Intake } from '../enrich/intake.js';

/** Outcome of a tuning operation; `error` is a bounded code the API maps to a status. */
export type TuningResult =
  | { readonly ok: true; readonly profile: ProfileSnapshot }
  | {
      readonly ok: false;
      readonly error: 'not-found' | 'no-such-item' | 'invalid-item' | 'not-saved';
      readonly detail?: string;
    };

/** What a profile learned that a person should look at. */
export interface ReviewDelta {
  readonly key: string;
  /** Learned under a new image digest (the rollout delta). */
  readonly pendingReview: readonly ProfileItemSnapshot[];
  /** Seen in one replica only while the others never showed it. */
  readonly suspect: readonly ProfileItemSnapshot[];
}

/**
 * The analysis stage: enrich → profiles → detect, feeding the incidents stage. Ingest
 * sees it as an Intake; the API and CLI use the tuning operations, which persist the
 * changed profile before they resolve.
 */
export interface Analyzer extends Intake {
  /** Loads stored profiles and starts the periodic learning tick and persistence. */
  start(): Promise<void>;
  /**
   * Re-checks learning windows (so idle profiles become stable on time), then persists
   * every profile whose revision changed since it was last saved, in batches. Runs every
   * persistEveryMs after start(); never rejects (failures are logged, counted, retried).
   */
  flush(): Promise<void>;
  /** Stops the timers, flushes, and unsubscribes from policy and store changes. */
  stop(): Promise<void>;
  /** Snapshots of every profile. */
  listProfiles(): ProfileSnapshot[];
  /** One profile by workload key. */
  getProfile(key: string): ProfileSnapshot | undefined;
  /** Adds (or upgrades) an item with origin 'approved': how an incident's item is accepted into the baseline. */
  approve(key: string, kind: ItemKind, itemKey: string): Promise<TuningResult>;
  /** Deletes an item; the next occurrence is novel again. */
  removeItem(key: string, kind: ItemKind, itemKey: string): Promise<TuningResult>;
  /** Drops learned items (approved and policy items stay) and learns from scratch. */
  relearn(key: string): Promise<TuningResult>;
  /** Freezes the profile: nothing is learned automatically any more, not even after an image update. */
  lock(key: string): Promise<TuningResult>;
  /** Items awaiting review; undefined when the profile does not exist. */
  reviewDelta(key: string): ReviewDelta | undefined;
  /** Accepts the whole delta: clears pendingReview and suspect on every item. */
  acceptDelta(key: string): Promise<TuningResult>;
}
