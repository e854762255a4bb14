import type { ProfileSnapshot } from '../../proto/profile.js';

/**
 * Durable home of learned profiles: a data directory for the embedded default, the
 * Kubernetes API (RuntimeBaseline resources) in a cluster.
 */
export interface ProfileStore {
  /** Every stored profile, at start-up. */
  loadAll(): Promise<ProfileSnapshot[]>;
  /** Persists these profiles (each whole); atomic per profile. */
  save(profiles: readonly ProfileSnapshot[]): Promise<void>;
  /** Deletes a profile by workload key; no error when it does not exist. */
  remove(key: string): Promise<void>;
  /**
   * Subscribes to changes made outside this process (a person editing a RuntimeBaseline);
   * returns an unsubscribe function. Stores without outside editors never call `onChange`.
   */
  watch(onChange: (profile: ProfileSnapshot) => void): () => void;
  close(): Promise<void>;
}
