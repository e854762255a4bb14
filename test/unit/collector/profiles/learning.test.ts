import { describe, expect, it } from 'vitest';
import {
  advanceLearning,
  learnItem,
  noteDrops,
  noteImageDigest,
  inRollout,
  touchItem,
} from '../../../../collector/profiles/learning.js';
import { createProfile } from '../../../../collector/profiles/profile.js';
import type { LearningWindows } from '../../../../collector/policy/policy.js';
import { API, API_KEY, exec } from '../detect/events.js';

const W: LearningWindows = { minDurationMs: 10_000, stableForMs: 5_000, maxDurationMs: 60_000 };

describe('learning state machine', () => {
  it('stays learning before minDuration even when quiet', () => {
    const p = createProfile(API, API_KEY, 0);
    expect(advanceLearning(p, W, 9_999)).toBe(false);
    expect(p.state).toBe('learning');
  });

  it('becomes stable after minDuration once nothing novel appeared for stableFor', () => {
    const p = createProfile(API, API_KEY, 0);
    learnItem(p, 'exec', '/bin/sh', 8_000, 'pod-1', '', false);
    expect(advanceLearning(p, W, 12_000)).toBe(false); // novel 4 s ago
    expect(advanceLearning(p, W, 13_000)).toBe(true);
    expect(p.state).toBe('stable');
    expect(p.stableSinceMs).toBe(13_000);
  });

  it('is forced stable at maxDuration while novelty continues', () => {
    const p = createProfile(API, API_KEY, 0);
    learnItem(p, 'file', '/var/log/a', 59_000, 'pod-1', '', false);
    expect(advanceLearning(p, W, 59_500)).toBe(false);
    expect(advanceLearning(p, W, 60_000)).toBe(true);
    expect(p.state).toBe('stable');
  });

  it('keeps a partial profile learning past maxDuration until a clean quiet window', () => {
    const p = createProfile(API, API_KEY, 0);
    expect(noteDrops(p, 1_000)).toBe(true);
    expect(p.partial).toBe(true);
    noteDrops(p, 58_000);
    expect(advanceLearning(p, W, 61_000)).toBe(false); // past max, but drops 3 s ago
    expect(p.state).toBe('learning');
    expect(advanceLearning(p, W, 63_000)).toBe(true); // 5 s without drops or novelty
    expect(p.state).toBe('stable');
    expect(p.partial).toBe(false);
  });

  it('does not mark a stable profile partial', () => {
    const p = createProfile(API, API_KEY, 0);
    advanceLearning(p, W, 60_000);
    expect(noteDrops(p, 61_000)).toBe(false);
    expect(p.partial).toBe(false);
  });

  it('marks items only one of several replicas showed as suspect when learning ends', () => {
    const p = createProfile(API, API_KEY, 0);
    const sh = learnItem(p, 'exec', '/bin/sh', 100, 'pod-1', '', false);
    const nc = learnItem(p, 'exec', '/usr/bin/nc', 200, 'pod-1', '', false);
    const ev2 = exec('/bin/sh', { pod: 'pod-2' });
    touchItem(p, sh, 300, ev2);
    advanceLearning(p, W, 20_000);
    expect(p.state).toBe('stable');
    expect(sh.suspect).toBe(false);
    expect(nc.suspect).toBe(true);
    // A second replica showing it later clears the suspicion.
    touchItem(p, nc, 21_000, exec('/usr/bin/nc', { pod: 'pod-3' }));
    expect(nc.suspect).toBe(false);
  });

  it('does not mark suspects with a single replica', () => {
    const p = createProfile(API, API_KEY, 0);
    const nc = learnItem(p, 'exec', '/usr/bin/nc', 200, 'pod-1', '', false);
    advanceLearning(p, W, 20_000);
    expect(nc.suspect).toBe(false);
  });

  it('opens a rollout window for a new digest on a stable profile, extended by novelty and closed later', () => {
    const p = createProfile(API, API_KEY, 0);
    noteImageDigest(p, 'sha256:old', W, 0);
    expect(p.rolloutDigest).toBe('');
    advanceLearning(p, W, 20_000);
    noteImageDigest(p, 'sha256:new', W, 30_000);
    expect(inRollout(p, 'sha256:new', 35_000)).toBe(true);
    expect(inRollout(p, 'sha256:old', 35_000)).toBe(false);
    expect(inRollout(p, 'sha256:new', 40_000)).toBe(false);
    advanceLearning(p, W, 40_000);
    expect(p.rolloutDigest).toBe('');
  });

  it('does not treat the first digest of a profile learned without one as an update', () => {
    const p = createProfile(API, API_KEY, 0);
    advanceLearning(p, W, 60_000);
    noteImageDigest(p, 'sha256:first', W, 61_000);
    expect(p.imageDigests).toEqual(['sha256:first']);
    expect(p.rolloutDigest).toBe('');
  });
});
