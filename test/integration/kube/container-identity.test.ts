import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createCgroupIndex } from '../../../agent/containers/cgroup-index.js';
import { createContainerResolver } from '../../../agent/containers/cgroup-resolver.js';
import { findCgroupV2Root } from '../../../agent/containers/cgroup-root.js';
import { createKubePodResolver, type KubePodResolver } from '../../../agent/kube/kube-pod-resolver.js';
import { parseKubePodResolverConfig } from '../../../agent/kube/kube-pod-resolver-config.js';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { createCgroupSandbox, type CgroupRuntime } from '../../helpers/cgroup.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { pod } from './fixtures.js';

const SCHEME: Record<CgroupRuntime, string> = {
  containerd: 'containerd',
  crio: 'cri-o',
  docker: 'docker',
  cgroupfs: 'containerd',
};

describe('container identity from real kubelet-named cgroups and the fake API server', () => {
  const sandbox = createCgroupSandbox();
  let api: FakeKubeApi;
  let pods: KubePodResolver;
  afterAll(() => sandbox.cleanup());

  beforeEach(async () => {
    api = await startFakeKubeApi();
    const problems = new Problems();
    const config = parseKubePodResolverConfig({ nodeName: 'node-a' }, problems, 'kubernetes', {});
    problems.throwIfAny();
    pods = createKubePodResolver({
      kubeConfig: api.kubeConfig(),
      config,
      cluster: 'c1',
      log: silentLogger(),
      registry: new Registry(),
    });
    await pods.start(5000);
  });
  afterEach(async () => {
    await pods.stop();
    await api.close();
  });

  function resolverFor() {
    return createContainerResolver({
      index: createCgroupIndex({ root: findCgroupV2Root()!, rewalkIntervalMs: 0 }),
      cluster: 'c1',
      cacheSize: 64,
      sweepIntervalMs: 60_000,
      podResolver: pods,
      log: silentLogger(),
    });
  }

  it.each<CgroupRuntime>(['containerd', 'crio', 'docker', 'cgroupfs'])(
    'resolves a %s container cgroup id to its owner workload (fake API server)',
    async (runtime) => {
      const cg = sandbox.container(runtime);
      api.put(
        pod({
          name: 'api-7d9f8b6c5d-abcde',
          namespace: 'shop',
          uid: cg.podUid,
          owner: { kind: 'ReplicaSet', name: 'api-7d9f8b6c5d' },
          labels: { 'pod-template-hash': '7d9f8b6c5d', 'tripline.io/sensitivity': 'confidential' },
          containers: [
            { name: 'server', image: 'reg/api:2', id: `${SCHEME[runtime]}://${cg.containerId}` },
            { name: 'proxy', image: 'reg/proxy:1', id: `${SCHEME[runtime]}://${'0'.repeat(64)}` },
          ],
        }),
      );
      const resolver = resolverFor();
      try {
        // As the agent pipeline does: resolve, and settle a provisional identity.
        let r = resolver.resolve(cg.id);
        if (r.provisional) r = (await resolver.settle(cg.id, 3000)) ?? r;
        expect(r.provisional).toBe(false);
        expect(r.workload).toEqual({
          cluster: 'c1',
          namespace: 'shop',
          kind: 'Deployment',
          name: 'api',
          container: 'server',
        });
        expect(r.image).toBe('reg/api:2');
        expect(r.labels['tripline.io/sensitivity']).toBe('confidential');
      } finally {
        resolver.close();
      }
    },
  );

  it("a new container's identity arrives when its pod appears after its first event (fake API server)", async () => {
    const cg = sandbox.container('containerd');
    const resolver = resolverFor();
    try {
      expect(resolver.resolve(cg.id).provisional).toBe(true);
      const settled = resolver.settle(cg.id, 5000);
      expect(settled).toBeDefined();
      api.put(
        pod({
          name: 'once-x1',
          namespace: 'batch',
          uid: cg.podUid,
          owner: { kind: 'Job', name: 'once' },
          containers: [{ name: 'task', image: 'i', id: `containerd://${cg.containerId}` }],
        }),
      );
      const r = await settled!;
      expect(r.provisional).toBe(false);
      expect(r.workload).toMatchObject({ namespace: 'batch', kind: 'Job', name: 'once', container: 'task' });
    } finally {
      resolver.close();
    }
  });
});
