/**
 * Child process for the crash test: rewrites a set of profiles through the file store in
 * a tight loop until it is killed. Arguments: data dir, number of profiles.
 */
import { createFileProfileStore } from '../../../../collector/profiles/file-profile-store.js';
import { silentLogger } from '../../../../lib/logger.js';
import type { ProfileSnapshot } from '../../../../proto/profile.js';

const [dir, countText] = process.argv.slice(2);
const store = createFileProfileStore({ dir: dir!, log: silentLogger() });
const count = Number(countText);

function profile(i: number, revision: number): ProfileSnapshot {
  const workload = { cluster: 'c', namespace: 'ns', kind: 'Deployment', name: `app-${i}`, container: 'main' };
  return {
    workload,
    key: `c/ns/Deployment/app-${i}/main`,
    state: 'learning',
    partial: false,
    learningStartedMs: 1,
    lastNovelMs: revision,
    stableSinceMs: 0,
    imageDigests: [],
    replicaIds: ['pod-1'],
    // Large enough that a write spans several pages and a kill can land inside it.
    items: Array.from({ length: 300 }, (_, j) => ({
      kind: 'file' as const,
      key: `/var/lib/app-${i}/data-${j}-${revision}`,
      firstSeenMs: 1,
      lastSeenMs: revision,
      count: revision,
      replicas: 1,
      origin: 'learned' as const,
      suspect: false,
      imageDigest: '',
      pendingReview: false,
    })),
    revision,
  };
}

let revision = 1;
process.send?.('ready');
for (;;) {
  await store.save(Array.from({ length: count }, (_, i) => profile(i, revision)));
  revision++;
  if (revision === 3) process.send?.('written');
}
