import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { parsePolicyConfig } from '../../../collector/policy/policy-config.js';
import { createStaticPolicySource } from '../../../collector/policy/static-policy-source.js';
import { parseKubeCollectorConfig } from '../../../collector/kube/kube-collector-config.js';
import {
  createKubeCollectorIntegration,
  type KubeCollectorIntegration,
} from '../../../collector/kube/kube-collector-integration.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';
import { pod } from './fixtures.js';

describe('collector Kubernetes integration against the fake API server', () => {
  let api: FakeKubeApi;
  let kube: KubeCollectorIntegration | undefined;

  beforeEach(async () => {
    api = await startFakeKubeApi();
  });
  afterEach(async () => {
    await kube?.stop();
    kube = undefined;
    await api.close();
  });

  it('takes peer tiers from the cluster-default RuntimePolicy and authenticates agents (fake API server)', async () => {
    api.put({
      apiVersion: 'tripline.io/v1alpha1',
      kind: 'RuntimePolicy',
      metadata: { name: 'default', namespace: 'sec' },
      spec: { defaultSensitivity: 'confidential' },
    });
    api.put(
      pod({
        name: 'db-0',
        namespace: 'shop',
        uid: 'db',
        owner: { kind: 'StatefulSet', name: 'db' },
        podIP: '10.2.0.1',
      }),
    );
    api.addToken('agent', { username: 'system:serviceaccount:sec:tripline-agent', audiences: ['tripline'] });
    const problems = new Problems();
    const config = parseKubeCollectorConfig({ cluster: 'prod' }, problems, 'kubernetes', { POD_NAMESPACE: 'sec' });
    const basePolicy = createStaticPolicySource(parsePolicyConfig({ defaultTier: 'public' }, problems));
    problems.throwIfAny();
    kube = createKubeCollectorIntegration({
      kubeConfig: api.kubeConfig(),
      config,
      basePolicy,
      log: silentLogger(),
      registry: new Registry(),
    });
    await kube.start(5000);
    expect(kube.peers.lookup('10.2.0.1')).toEqual({ workloadKey: 'prod/shop/StatefulSet/db/', tier: 'confidential' });
    expect(await kube.authenticator.authenticate('agent')).toEqual({
      ok: true,
      identity: 'system:serviceaccount:sec:tripline-agent',
    });
    api.patch('tripline.io/v1alpha1', 'RuntimePolicy', 'sec', 'default', {
      spec: { defaultSensitivity: 'restricted' },
    });
    await waitFor(() => kube!.peers.lookup('10.2.0.1')?.tier === 'restricted', {
      what: 'tier from the edited cluster default',
    });
    expect(await kube.profiles.loadAll()).toEqual([]);
  });
});
