import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../lib/logger.js';
import { workloadKey, type WorkloadRef } from '../../../proto/events.js';
import type { ProfileItemSnapshot, ProfileSnapshot } from '../../../proto/profile.js';
import type { ProfileStore } from '../../../collector/profiles/profile-store.js';
import { createKubeProfileStore } from '../../../collector/kube/kube-profile-store.js';
import { baselineName } from '../../../collector/kube/runtime-baseline.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';

const GV = 'tripline.io/v1alpha1';
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

const workload: WorkloadRef = {
  cluster: 'prod',
  namespace: 'shop',
  kind: 'Deployment',
  name: 'checkout_API.v2',
  container: 'app',
};

function item(
  kind: ProfileItemSnapshot['kind'],
  key: string,
  extra: Partial<ProfileItemSnapshot> = {},
): ProfileItemSnapshot {
  return {
    kind,
    key,
    firstSeenMs: T0,
    lastSeenMs: T0 + 60_000,
    count: 3,
    replicas: 2,
    origin: 'learned',
    suspect: false,
    imageDigest: '',
    pendingReview: false,
    ...extra,
  };
}

function profile(
  items: ProfileItemSnapshot[],
  revision: number,
  extra: Partial<ProfileSnapshot> = {},
): ProfileSnapshot {
  return {
    workload,
    key: workloadKey(workload),
    state: 'learning',
    partial: false,
    learningStartedMs: T0,
    lastNovelMs: T0 + 60_000,
    stableSinceMs: 0,
    imageDigests: ['sha256:' + 'a'.repeat(64)],
    replicaIds: ['pod-1', 'pod-2'],
    items,
    revision,
    ...extra,
  };
}

const keys = (p: ProfileSnapshot | KubeObject | undefined): string[] => {
  type Keyed = readonly { kind: string; key: string }[];
  const spec = (p as KubeObject | undefined)?.['spec'] as { items: Keyed } | undefined;
  const items: Keyed = (p && 'items' in p ? (p.items as Keyed) : spec?.items) ?? [];
  return items.map((i) => `${i.kind}:${i.key}`).sort();
};

describe('RuntimeBaseline profile store against the fake API server', () => {
  let api: FakeKubeApi;
  const stores: ProfileStore[] = [];
  const name = baselineName(workload);

  beforeEach(async () => {
    api = await startFakeKubeApi();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await api.close();
  });

  function open(registry = new Registry()): ProfileStore {
    const s = createKubeProfileStore({
      kubeConfig: api.kubeConfig(),
      collectorNamespace: 'tripline',
      writeConcurrency: 4,
      watchBackoff: { initialMs: 20, maxMs: 100 },
      log: silentLogger(),
      registry,
    });
    stores.push(s);
    return s;
  }

  it('writes a valid DNS-1123 named baseline with spec and status, and skips unchanged revisions', async () => {
    const s = open();
    await s.save([profile([item('exec', '/usr/bin/curl'), item('egress', 'shop/Deployment/db:tcp/5432')], 1)]);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(63);
    const stored = api.get(GV, 'RuntimeBaseline', 'shop', name)!;
    expect(stored['spec']).toMatchObject({
      workload,
      state: 'learning',
      items: [
        { kind: 'exec', key: '/usr/bin/curl', origin: 'learned', count: 3, firstSeen: '2026-11-20T10:00:00.000Z' },
        { kind: 'egress' },
      ],
    });
    expect(stored['status']).toMatchObject({
      phase: 'learning',
      itemCount: 2,
      learningStartedAt: '2026-11-20T10:00:00.000Z',
      revision: 1,
    });
    const writesBefore = api.requests.filter((r) => r.method !== 'GET').length;
    await s.save([profile([item('exec', '/usr/bin/curl'), item('egress', 'shop/Deployment/db:tcp/5432')], 1)]);
    expect(api.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
    await s.save([profile([item('exec', '/usr/bin/curl')], 2, { state: 'stable', stableSinceMs: T0 + 3_600_000 })]);
    const updated = api.get(GV, 'RuntimeBaseline', 'shop', name)!;
    expect(keys(updated)).toEqual(['exec:/usr/bin/curl']);
    expect(updated['status']).toMatchObject({ phase: 'stable', stableSince: '2026-11-20T11:00:00.000Z', revision: 2 });
  });

  it('reloads baselines after a collector restart from the fake API server', async () => {
    const original = profile(
      [
        item('exec', '/bin/sh', { origin: 'approved', suspect: true }),
        item('file', '/var/log/app/*.log', { pendingReview: true, imageDigest: 'sha256:' + 'b'.repeat(64) }),
      ],
      7,
      { state: 'stable', stableSinceMs: T0 + 7_200_000, partial: true },
    );
    await open().save([original]);
    const reloaded = await open().loadAll();
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]).toEqual(original);
  });

  it('reports a baseline edited by a person with kubectl (item removed, item added) via watch, not its own writes (fake API server)', async () => {
    const s = open();
    await s.save([profile([item('exec', '/usr/bin/curl'), item('exec', '/bin/sh')], 1)]);
    const seen: ProfileSnapshot[] = [];
    s.watch((p) => seen.push(p));
    await waitFor(() => api.watchCount === 1, { what: 'baseline watch' });
    await s.save([profile([item('exec', '/usr/bin/curl'), item('exec', '/bin/sh'), item('syscall', 'openat')], 2)]);
    // kubectl edit: drop /bin/sh (no longer baseline), add /usr/bin/python3 (stops alerting).
    const cur = api.get(GV, 'RuntimeBaseline', 'shop', name)!;
    const items = (cur['spec'] as { items: { key: string }[] }).items.filter((i) => i.key !== '/bin/sh');
    api.patch(GV, 'RuntimeBaseline', 'shop', name, {
      spec: { items: [...items, { kind: 'exec', key: '/usr/bin/python3' }] },
    });
    const edited = await waitFor(() => seen.at(-1), { what: 'onChange after the edit' });
    expect(seen).toHaveLength(1);
    expect(keys(edited)).toEqual(['exec:/usr/bin/curl', 'exec:/usr/bin/python3', 'syscall:openat']);
    expect(edited.items.find((i) => i.key === '/usr/bin/python3')?.origin).toBe('approved');
    expect(edited.revision).toBeGreaterThan(2);
  });

  it('merges on a 409 conflict: keeps what a person removed removed and what they added (fake API server)', async () => {
    const registry = new Registry();
    const s = open(registry);
    await s.save([profile([item('exec', '/usr/bin/curl'), item('exec', '/bin/sh')], 1)]);
    const cur = api.get(GV, 'RuntimeBaseline', 'shop', name)!;
    const items = (cur['spec'] as { items: { key: string }[] }).items.filter((i) => i.key !== '/bin/sh');
    api.patch(GV, 'RuntimeBaseline', 'shop', name, {
      spec: { items: [...items, { kind: 'listen', key: 'tcp/9090', origin: 'approved' }] },
    });
    // The learner has not seen the edit yet: it still holds /bin/sh and learned openat.
    await s.save([profile([item('exec', '/usr/bin/curl'), item('exec', '/bin/sh'), item('syscall', 'openat')], 2)]);
    expect(keys(api.get(GV, 'RuntimeBaseline', 'shop', name))).toEqual([
      'exec:/usr/bin/curl',
      'listen:tcp/9090',
      'syscall:openat',
    ]);
    expect(await registry.getSingleMetricAsString('tripline_collector_kube_baseline_writes_total')).toContain(
      'result="conflict"} 1',
    );
    expect(api.requests.some((r) => r.method === 'PUT' && r.path.endsWith(`/runtimebaselines/${name}`))).toBe(true);
  });

  it('recreates a baseline a person deleted, and removes one by workload key (fake API server)', async () => {
    const s = open();
    await s.save([profile([item('exec', '/bin/true')], 1)]);
    api.remove(GV, 'RuntimeBaseline', 'shop', name);
    await s.save([profile([item('exec', '/bin/true')], 2)]);
    expect(keys(api.get(GV, 'RuntimeBaseline', 'shop', name))).toEqual(['exec:/bin/true']);
    await s.remove(workloadKey(workload));
    expect(api.get(GV, 'RuntimeBaseline', 'shop', name)).toBeUndefined();
    await open().remove('prod/tripline/cgroup/system.slice/nginx.service/');
  });

  it('puts host workloads in the collector namespace and pages through many baselines on reload (fake API server)', async () => {
    const host: WorkloadRef = {
      cluster: 'local',
      namespace: '',
      kind: 'cgroup',
      name: 'system.slice/nginx.service',
      container: '',
    };
    const many = Array.from({ length: 300 }, (_, i) => ({
      ...profile([item('exec', `/bin/x${i}`)], 1),
      workload: { ...workload, name: `w${i}` },
      key: workloadKey({ ...workload, name: `w${i}` }),
    }));
    await open().save([
      { ...profile([item('exec', '/usr/sbin/nginx')], 1), workload: host, key: workloadKey(host) },
      ...many,
    ]);
    expect(api.get(GV, 'RuntimeBaseline', 'tripline', baselineName(host))).toBeDefined();
    const loaded = await open().loadAll();
    expect(loaded).toHaveLength(301);
    expect(api.requests.filter((r) => r.method === 'GET' && r.query.get('continue')).length).toBeGreaterThan(0);
  });
});
