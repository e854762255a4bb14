import { describe, expect, it } from 'vitest';
import {
  baselineName,
  fromBaseline,
  itemId,
  mergeSpecs,
  type RuntimeBaseline,
} from '../../../collector/kube/runtime-baseline.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const w = { cluster: 'c', namespace: 'ns', kind: 'Deployment', name: 'api', container: 'app' };

describe('RuntimeBaseline naming and merge', () => {
  it('names are valid DNS-1123 labels, readable and distinct per workload container', () => {
    const names = [
      baselineName(w),
      baselineName({ ...w, container: 'sidecar' }),
      baselineName({ ...w, name: 'A'.repeat(200) + '_x' }),
      baselineName({ ...w, name: 'A'.repeat(200) + '_y' }),
      baselineName({
        cluster: 'local',
        namespace: '',
        kind: 'cgroup',
        name: 'system.slice/nginx.service',
        container: '',
      }),
      baselineName({ cluster: 'c', namespace: 'ns', kind: '', name: '---', container: '' }),
    ];
    for (const n of names) {
      expect(n).toMatch(DNS1123_LABEL);
      expect(n.length).toBeLessThanOrEqual(63);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toMatch(/^deployment-api-app-[0-9a-f]{10}$/);
  });

  const spec = (keys: string[], state: 'learning' | 'stable' | 'locked' = 'learning'): RuntimeBaseline['spec'] => ({
    workload: w,
    state,
    partial: false,
    imageDigests: [],
    items: keys.map((k) => ({ kind: 'exec', key: k, origin: 'learned' })),
  });

  it('three-way merge keeps a person’s removals, additions, approvals and state', () => {
    const base = { items: new Set(['a', 'b', 'c'].map((k) => itemId({ kind: 'exec', key: k }))), state: 'learning' };
    const theirs = spec(['a', 'c', 'manual'], 'locked');
    theirs.items[1]!.origin = 'approved';
    const ours = spec(['a', 'b', 'c', 'new']);
    const merged = mergeSpecs(base, theirs, ours);
    expect(merged.items.map((i) => i.key).sort()).toEqual(['a', 'c', 'manual', 'new']);
    expect(merged.items.find((i) => i.key === 'c')?.origin).toBe('approved');
    expect(merged.state).toBe('locked');
    // Without a state edit by the person, the learner's transition wins.
    expect(mergeSpecs(base, spec(['a', 'b', 'c']), spec(['a', 'b', 'c'], 'stable')).state).toBe('stable');
  });

  it('decodes hand-written items with defaults and rejects malformed specs', () => {
    const now = 1_800_000_000_000;
    const obj = {
      apiVersion: 'tripline.io/v1alpha1',
      kind: 'RuntimeBaseline',
      metadata: { name: 'x', namespace: 'ns' },
      spec: {
        workload: w,
        state: 'stable',
        items: [
          { kind: 'exec', key: '/bin/true' },
          { kind: 'exec', key: '/bin/true' },
        ],
      },
    } as unknown as RuntimeBaseline;
    const d = fromBaseline(obj, now);
    expect(d.ok && d.profile.items).toEqual([
      {
        kind: 'exec',
        key: '/bin/true',
        firstSeenMs: now,
        lastSeenMs: now,
        count: 0,
        replicas: 0,
        origin: 'approved',
        suspect: false,
        imageDigest: '',
        pendingReview: false,
      },
    ]);
    expect(
      fromBaseline({ ...obj, spec: { ...obj.spec, state: 'asleep' } } as unknown as RuntimeBaseline, now),
    ).toMatchObject({ ok: false, error: expect.stringContaining('spec.state') });
    expect(
      fromBaseline(
        { ...obj, spec: { ...obj.spec, items: [{ kind: 'ioctl', key: 'x' }] } } as unknown as RuntimeBaseline,
        now,
      ),
    ).toMatchObject({ ok: false, error: expect.stringContaining('spec.items[0].kind') });
    expect(fromBaseline({ ...obj, spec: undefined } as unknown as RuntimeBaseline, now).ok).toBe(false);
  });
});
