import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { parsePolicyConfig } from '../../../collector/policy/policy-config.js';
import { createStaticPolicySource } from '../../../collector/policy/static-policy-source.js';
import { createKubePeerDirectory, type KubePeerDirectory } from '../../../collector/kube/kube-peer-directory.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';
import { namespace, pod, service } from './fixtures.js';

describe('kube peer directory against the fake API server', () => {
  let api: FakeKubeApi;
  let dir: KubePeerDirectory | undefined;

  beforeEach(async () => {
    api = await startFakeKubeApi();
  });
  afterEach(async () => {
    await dir?.stop();
    dir = undefined;
    await api.close();
  });

  let policies: ReturnType<typeof createStaticPolicySource>;
  let registry: Registry;

  async function start(defaultTier = 'internal'): Promise<KubePeerDirectory> {
    const problems = new Problems();
    policies = createStaticPolicySource(
      parsePolicyConfig({ defaultTier, workloads: [{ match: 'prod/vault/**', defaultTier: 'restricted' }] }, problems),
    );
    problems.throwIfAny();
    dir = createKubePeerDirectory({
      kubeConfig: api.kubeConfig(),
      cluster: 'prod',
      policies,
      watchBackoff: { initialMs: 20, maxMs: 100 },
      log: silentLogger(),
      registry: (registry = new Registry()),
    });
    await dir.start(5000);
    return dir;
  }

  it('maps a pod IP to its workload for egress, across nodes (fake API server)', async () => {
    api.put(
      pod({
        name: 'db-0',
        namespace: 'shop',
        uid: 'db0',
        node: 'node-b',
        owner: { kind: 'StatefulSet', name: 'db' },
        podIP: '10.1.2.3',
      }),
    );
    api.put(
      pod({
        name: 'api-7d9f8b6c5d-x',
        namespace: 'shop',
        uid: 'api',
        owner: { kind: 'ReplicaSet', name: 'api-7d9f8b6c5d' },
        labels: { 'pod-template-hash': '7d9f8b6c5d' },
        podIP: '10.1.2.4',
      }),
    );
    const d = await start();
    expect(d.lookup('10.1.2.3')).toEqual({ workloadKey: 'prod/shop/StatefulSet/db/', tier: 'internal' });
    expect(d.lookup('10.1.2.4')?.workloadKey).toBe('prod/shop/Deployment/api/');
    expect(d.lookup('203.0.113.9')).toBeUndefined();
    expect(await registry.getSingleMetricAsString('tripline_collector_kube_peer_addresses')).toContain(
      'owner="pod"} 2',
    );
  });

  it('follows pod churn: a reused IP belongs to the new pod, a deleted pod releases it (fake API server)', async () => {
    api.put(pod({ name: 'old', namespace: 'a', uid: 'old', podIP: '10.9.0.1' }));
    const d = await start();
    api.remove('v1', 'Pod', 'a', 'old');
    await waitFor(() => d.lookup('10.9.0.1') === undefined, { what: 'IP released' });
    api.put(pod({ name: 'new', namespace: 'b', uid: 'new', podIP: '10.9.0.1' }));
    await waitFor(() => d.lookup('10.9.0.1')?.workloadKey === 'prod/b/Pod/new/', { what: 'IP reused' });
  });

  it('takes the sensitivity tier from the pod label, else the namespace label, else the policy default (fake API server)', async () => {
    api.put(namespace('payments', { 'tripline.io/sensitivity': 'confidential' }));
    api.put(namespace('web'));
    api.put(
      pod({
        name: 'card',
        namespace: 'payments',
        uid: 'c',
        labels: { 'tripline.io/sensitivity': 'restricted' },
        podIP: '10.0.0.1',
      }),
    );
    api.put(pod({ name: 'ledger', namespace: 'payments', uid: 'l', podIP: '10.0.0.2' }));
    api.put(pod({ name: 'front', namespace: 'web', uid: 'f', podIP: '10.0.0.3' }));
    api.put(pod({ name: 'secrets', namespace: 'vault', uid: 'v', podIP: '10.0.0.4' }));
    const d = await start('public');
    expect(d.lookup('10.0.0.1')?.tier).toBe('restricted');
    expect(d.lookup('10.0.0.2')?.tier).toBe('confidential');
    expect(d.lookup('10.0.0.3')?.tier).toBe('public');
    expect(d.lookup('10.0.0.4')?.tier).toBe('restricted');
    // Relabelling the namespace takes effect without a restart.
    api.patch('v1', 'Namespace', '', 'web', { metadata: { labels: { 'tripline.io/sensitivity': 'internal' } } });
    await waitFor(() => d.lookup('10.0.0.3')?.tier === 'internal', { what: 'namespace relabel' });
    // A policy change moves the default tier of unlabelled workloads at once.
    api.put(pod({ name: 'plain', namespace: 'misc', uid: 'm', podIP: '10.0.0.5' }));
    await waitFor(() => d.lookup('10.0.0.5')?.tier === 'public', { what: 'unlabelled pod' });
    policies.update(parsePolicyConfig({ defaultTier: 'confidential' }, new Problems()));
    expect(d.lookup('10.0.0.5')?.tier).toBe('confidential');
    expect(d.lookup('10.0.0.1')?.tier).toBe('restricted');
  });

  it('maps a service cluster IP to the one workload it selects, or to the service (fake API server)', async () => {
    api.put(
      pod({
        name: 'db-0',
        namespace: 'shop',
        uid: 'd0',
        owner: { kind: 'StatefulSet', name: 'db' },
        labels: { app: 'db', 'tripline.io/sensitivity': 'restricted' },
        podIP: '10.1.0.1',
      }),
    );
    api.put(
      pod({
        name: 'db-1',
        namespace: 'shop',
        uid: 'd1',
        owner: { kind: 'StatefulSet', name: 'db' },
        labels: { app: 'db', 'tripline.io/sensitivity': 'restricted' },
        podIP: '10.1.0.2',
      }),
    );
    api.put(service('db', 'shop', '10.96.0.10', { app: 'db' }));
    api.put(service('mixed', 'shop', '10.96.0.11', { tier: 'x' }));
    const d = await start();
    expect(d.lookup('10.96.0.10')).toEqual({ workloadKey: 'prod/shop/StatefulSet/db/', tier: 'restricted' });
    expect(d.lookup('10.96.0.11')).toEqual({ workloadKey: 'prod/shop/Service/mixed/', tier: 'internal' });
    api.put(
      pod({
        name: 'cache',
        namespace: 'shop',
        uid: 'c',
        owner: { kind: 'StatefulSet', name: 'cache' },
        labels: { tier: 'x' },
        podIP: '10.1.0.3',
      }),
    );
    await waitFor(() => d.lookup('10.96.0.11')?.workloadKey === 'prod/shop/StatefulSet/cache/', {
      what: 'service resolution after pod change',
    });
  });

  it('recovers from a dropped watch and from 410 Gone (fake API server)', async () => {
    const d = await start();
    await waitFor(() => api.watchCount === 3, { what: 'three watches' });
    api.setUnavailable(true);
    api.dropWatches();
    api.put(pod({ name: 'p', namespace: 'x', uid: 'p', podIP: '10.5.0.1' }));
    api.put(service('s', 'x', '10.96.5.1', { none: 'x' }));
    api.compact();
    api.setUnavailable(false);
    await waitFor(() => d.lookup('10.5.0.1') && d.lookup('10.96.5.1'), { what: 'pod and service after relist' });
    // A dropped watch with nothing compacted resumes from its resourceVersion.
    api.dropWatches();
    api.put(pod({ name: 'q', namespace: 'x', uid: 'q', podIP: '10.5.0.2' }));
    await waitFor(() => d.lookup('10.5.0.2'), { what: 'pod after resumed watch' });
  });
});
