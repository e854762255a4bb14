import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../lib/logger.js';
import { createResilientInformer, type ResilientInformer } from '../../../lib/kube/resilient-informer.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';
import { pod } from './fixtures.js';

describe('resilient informer against the fake API server', () => {
  let api: FakeKubeApi;
  let informer: ResilientInformer<V1Pod> | undefined;

  beforeEach(async () => {
    api = await startFakeKubeApi();
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await api.close();
  });

  it('caches objects as the transform reduced them, from the list and from the watch (fake API server)', async () => {
    const fat = (name: string) => ({
      ...pod({ name, uid: name }),
      metadata: { ...pod({ name, uid: name }).metadata, managedFields: [{ manager: 'kubectl', operation: 'Update' }] },
    });
    api.put(fat('listed'));
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    informer = createResilientInformer<V1Pod>({
      kubeConfig: api.kubeConfig(),
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
      resource: 'pods',
      handlers: {},
      log: silentLogger(),
      registry: new Registry(),
      metricPrefix: 'tripline_agent',
    });
    await informer.start(5000);
    api.put(fat('watched'));
    await waitFor(() => informer!.get('watched', 'default'), { what: 'watched pod' });
    for (const name of ['listed', 'watched']) {
      const cached = informer.get(name, 'default')!;
      expect(cached.metadata?.managedFields).toBeUndefined();
      expect(cached.metadata?.uid).toBe(name);
    }
  });

  it('start rejects after its timeout while the API server is down, and recovers in the background (fake API server)', async () => {
    api.setUnavailable(true);
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const registry = new Registry();
    informer = createResilientInformer<V1Pod>({
      kubeConfig: api.kubeConfig(),
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
      resource: 'pods',
      handlers: {},
      log: silentLogger(),
      registry,
      metricPrefix: 'tripline_collector',
      backoff: { initialMs: 10, maxMs: 50 },
    });
    await expect(informer.start(300)).rejects.toThrow(/no successful list/);
    expect(informer.synced).toBe(false);
    expect(await registry.getSingleMetricAsString('tripline_collector_kube_informer_restarts_total')).toMatch(
      /reason="server-error",resource="pods"} [1-9]|resource="pods",reason="server-error"} [1-9]/,
    );
    api.put(pod({ name: 'late', uid: 'late' }));
    api.setUnavailable(false);
    await waitFor(() => informer!.get('late', 'default'), { what: 'recovered list' });
    expect(informer.synced).toBe(true);
  });
});
