import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { createKubePodResolver, type KubePodResolver } from '../../../agent/kube/kube-pod-resolver.js';
import { parseKubePodResolverConfig } from '../../../agent/kube/kube-pod-resolver-config.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';
import { digestOf, pod } from './fixtures.js';

const id = (n: number): string => n.toString(16).padStart(64, 'a');

describe('kube pod resolver against the fake API server', () => {
  let api: FakeKubeApi;
  let resolver: KubePodResolver | undefined;
  let registry: Registry;
  let clock: number;

  beforeEach(async () => {
    api = await startFakeKubeApi();
    registry = new Registry();
    clock = Date.now();
  });
  afterEach(async () => {
    await resolver?.stop();
    resolver = undefined;
    await api.close();
  });

  async function start(raw: Record<string, unknown> = {}): Promise<KubePodResolver> {
    const problems = new Problems();
    const config = parseKubePodResolverConfig(
      { nodeName: 'node-a', deletedPodGrace: '60s', watchBackoff: { initial: '20ms', max: '100ms' }, ...raw },
      problems,
      'kubernetes',
      {},
    );
    problems.throwIfAny();
    resolver = createKubePodResolver({
      kubeConfig: api.kubeConfig(),
      config,
      cluster: 'prod',
      log: silentLogger(),
      registry,
      now: () => clock,
    });
    await resolver.start(5000);
    return resolver;
  }

  it('resolves every owner kind to its workload through the fake API server', async () => {
    const cases: [{ kind: string; name: string } | undefined, Record<string, string>, string, string][] = [
      [{ kind: 'ReplicaSet', name: 'api-7d9f8b6c5d' }, { 'pod-template-hash': '7d9f8b6c5d' }, 'Deployment', 'api'],
      [{ kind: 'ReplicaSet', name: 'handmade' }, {}, 'ReplicaSet', 'handmade'],
      [{ kind: 'StatefulSet', name: 'db' }, {}, 'StatefulSet', 'db'],
      [{ kind: 'DaemonSet', name: 'fluentd' }, {}, 'DaemonSet', 'fluentd'],
      [{ kind: 'Job', name: 'backup-29567040' }, {}, 'CronJob', 'backup'],
      [{ kind: 'Job', name: 'migrate' }, {}, 'Job', 'migrate'],
      [undefined, {}, 'Pod', 'debug'],
    ];
    cases.forEach(([owner, labels], i) =>
      api.put(
        pod({
          name: i === 6 ? 'debug' : `p${i}`,
          namespace: 'shop',
          uid: `uid-${i}`,
          owner,
          labels: { app: 'x', ...labels },
          containers: [{ name: 'main', image: 'reg/app:1', id: `containerd://${id(i)}` }],
        }),
      ),
    );
    const r = await start();
    cases.forEach(([, , kind, name], i) => {
      const info = r.lookup(id(i), `uid-${i}`);
      expect(info?.workload, `case ${i}`).toEqual({
        cluster: 'prod',
        namespace: 'shop',
        kind,
        name,
        container: 'main',
      });
      expect(info?.imageDigest).toBe(digestOf(7));
      expect(info?.image).toBe('reg/app:1');
    });
  });

  it('only lists and watches pods of its own node (field selector) on the fake API server', async () => {
    api.put(
      pod({ name: 'mine', uid: 'u1', node: 'node-a', containers: [{ name: 'c', image: 'i', id: `cri-o://${id(1)}` }] }),
    );
    api.put(
      pod({
        name: 'theirs',
        uid: 'u2',
        node: 'node-b',
        containers: [{ name: 'c', image: 'i', id: `docker://${id(2)}` }],
      }),
    );
    const r = await start();
    expect(r.lookup(id(1), 'u1')?.workload.name).toBe('mine');
    expect(r.lookup(id(2), 'u2')).toBeUndefined();
    expect(
      api.requests
        .filter((q) => q.path === '/api/v1/pods')
        .every((q) => q.query.get('fieldSelector') === 'spec.nodeName=node-a'),
    ).toBe(true);
  });

  it('reports privileged containers and host namespaces, labels, init containers (fake API server)', async () => {
    api.put(
      pod({
        name: 'p',
        uid: 'u',
        labels: { 'tripline.io/sensitivity': 'restricted' },
        initContainers: [{ name: 'init', image: 'busybox', id: `containerd://${id(3)}` }],
        containers: [
          { name: 'a', image: 'i', id: `containerd://${id(1)}`, privileged: true },
          { name: 'b', image: 'i', id: `containerd://${id(2)}` },
        ],
      }),
    );
    api.put(
      pod({ name: 'h', uid: 'h', hostPID: true, containers: [{ name: 'a', image: 'i', id: `containerd://${id(4)}` }] }),
    );
    const r = await start();
    expect(r.lookup(id(1), 'u')?.privileged).toBe(true);
    expect(r.lookup(id(2), 'u')?.privileged).toBe(false);
    expect(r.lookup(id(3), 'u')?.workload.container).toBe('init');
    expect(r.lookup(id(2), 'u')?.labels['tripline.io/sensitivity']).toBe('restricted');
    expect(r.lookup(id(4), 'h')?.privileged).toBe(true);
  });

  it("keeps a short-lived pod's identity: waits for a pod that appears late and remembers it after deletion (fake API server)", async () => {
    const r = await start();
    const pending = r.waitFor(id(5), 'job-uid', 3000);
    const job = pod({
      name: 'once-abc',
      uid: 'job-uid',
      owner: { kind: 'Job', name: 'once' },
      containers: [{ name: 'task', image: 'i', id: `containerd://${id(5)}` }],
    });
    api.put(job);
    const info = await pending;
    expect(info?.workload).toMatchObject({ kind: 'Job', name: 'once', container: 'task' });
    api.remove('v1', 'Pod', 'default', 'once-abc');
    // The deletion has reached the informer once a lookup for a pod added afterwards works.
    api.put(pod({ name: 'marker', uid: 'm', containers: [{ name: 'c', image: 'i', id: `containerd://${id(6)}` }] }));
    await waitFor(() => r.lookup(id(6), 'm'), { what: 'marker pod' });
    expect(r.lookup(id(5), 'job-uid')?.workload.name).toBe('once');
    expect(await registry.getSingleMetricAsString('tripline_agent_kube_pods')).toContain('state="deleted"} 1');
    clock += 61_000;
    expect(r.lookup(id(5), 'job-uid')).toBeUndefined();
  });

  it('resolves a single-container pod by UID before the kubelet reports its container id (fake API server)', async () => {
    const r = await start();
    const pending = r.waitFor(id(8), 'early', 3000);
    api.put(pod({ name: 'early', uid: 'early', containers: [{ name: 'only', image: 'i' }] }));
    expect((await pending)?.workload.container).toBe('only');
  });

  it('gives up waiting after the bound and when too many lookups wait (fake API server)', async () => {
    const r = await start({ maxWaiting: 1, maxWait: '50ms' });
    const first = r.waitFor(id(9), 'nobody', 10_000);
    expect(await r.waitFor(id(10), 'nobody2', 10_000)).toBeUndefined();
    expect(await first).toBeUndefined();
    const text = await registry.getSingleMetricAsString('tripline_agent_kube_pod_waits_total');
    expect(text).toContain('result="overflow"} 1');
    expect(text).toContain('result="timeout"} 1');
  });

  it('relists after 410 Gone when its resourceVersion was compacted during an outage (fake API server)', async () => {
    api.put(pod({ name: 'a', uid: 'a', containers: [{ name: 'c', image: 'i', id: `containerd://${id(11)}` }] }));
    const r = await start();
    await waitFor(() => api.watchCount === 1, { what: 'watch open' });
    api.setUnavailable(true);
    api.dropWatches();
    await waitFor(
      async () =>
        (await registry.getSingleMetricAsString('tripline_agent_kube_informer_restarts_total')).includes(
          'resource="pods"',
        ),
      { what: 'watch failure' },
    );
    // While the agent is cut off: a pod arrives, another leaves, and history is compacted.
    api.put(pod({ name: 'b', uid: 'b', containers: [{ name: 'c', image: 'i', id: `containerd://${id(12)}` }] }));
    api.remove('v1', 'Pod', 'default', 'a');
    api.compact();
    api.setUnavailable(false);
    await waitFor(() => r.lookup(id(12), 'b'), { what: 'pod added during the outage' });
    expect(
      api.requests.some((q) => q.query.get('watch') === 'true' && Number(q.query.get('resourceVersion')) > 0),
    ).toBe(true);
    expect(await registry.getSingleMetricAsString('tripline_agent_kube_informer_lists_total')).toContain(
      'resource="pods"} 2',
    );
  });

  it('resumes an expired watch without relisting, kept current by BOOKMARK events (fake API server)', async () => {
    api.put(pod({ name: 'a', uid: 'a', containers: [{ name: 'c', image: 'i', id: `containerd://${id(15)}` }] }));
    const r = await start();
    await waitFor(() => api.watchCount === 1, { what: 'watch open' });
    expect(
      api.requests
        .filter((q) => q.query.get('watch') === 'true')
        .every((q) => q.query.get('allowWatchBookmarks') === 'true'),
    ).toBe(true);
    api.put(pod({ name: 'm', uid: 'm', containers: [{ name: 'c', image: 'i', id: `containerd://${id(16)}` }] }));
    await waitFor(() => r.lookup(id(16), 'm'), { what: 'marker pod' });
    // Pods of other nodes move the resourceVersion without reaching this watch; only the
    // bookmark tells the agent how far it is. Then history is compacted and the server
    // ends the watch (its timeout): the agent must resume from the bookmark, not get 410.
    for (let i = 0; i < 5; i++) api.put(pod({ name: `other-${i}`, uid: `o${i}`, node: 'node-b' }));
    const bookmarked = api.resourceVersion;
    expect(api.bookmark()).toBe(1);
    api.compact();
    const watchesBefore = api.requests.filter((q) => q.query.get('watch') === 'true').length;
    expect(api.endWatches()).toBe(1);
    api.put(
      pod({ name: 'after', uid: 'after', containers: [{ name: 'c', image: 'i', id: `containerd://${id(17)}` }] }),
    );
    await waitFor(() => r.lookup(id(17), 'after'), { what: 'pod after the dropped watch' });
    const resumed = api.requests.filter((q) => q.query.get('watch') === 'true')[watchesBefore];
    expect(resumed?.query.get('resourceVersion')).toBe(bookmarked);
    expect(await registry.getSingleMetricAsString('tripline_agent_kube_informer_lists_total')).toContain(
      'resource="pods"} 1',
    );
  });

  it('restarts with backoff after the fake API server was unavailable', async () => {
    const r = await start();
    await waitFor(() => api.watchCount === 1);
    api.setUnavailable(true);
    api.dropWatches();
    await waitFor(
      async () =>
        (await registry.getSingleMetricAsString('tripline_agent_kube_informer_restarts_total')).includes(
          'reason="server-error"',
        ),
      { what: 'restart counted' },
    );
    api.setUnavailable(false);
    api.put(pod({ name: 'late', uid: 'late', containers: [{ name: 'c', image: 'i', id: `containerd://${id(14)}` }] }));
    await waitFor(() => r.lookup(id(14), 'late'), { what: 'pod after recovery' });
  });
});
