import { describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { parseKubePodResolverConfig } from '../../../agent/kube/kube-pod-resolver-config.js';
import { parseKubeCollectorConfig } from '../../../collector/kube/kube-collector-config.js';

describe('kubernetes config sections', () => {
  it('agent: defaults, node name from NODE_NAME, frozen', () => {
    const problems = new Problems();
    const c = parseKubePodResolverConfig(undefined, problems, 'kubernetes', { NODE_NAME: 'worker-3' });
    expect(problems.all).toEqual([]);
    expect(c).toEqual({
      kubeconfig: 'in-cluster',
      nodeName: 'worker-3',
      deletedPodGraceMs: 120_000,
      maxWaiting: 1024,
      maxWaitMs: 5_000,
      watchBackoff: { initialMs: 500, maxMs: 30_000 },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('agent: reports every problem with its path', () => {
    const problems = new Problems();
    parseKubePodResolverConfig(
      {
        nodeName: 'Bad_Node',
        deletedPodGrace: 'soon',
        maxWaiting: -1,
        maxWait: [],
        watchBackoff: { initial: '1m', max: '1s', jitter: 1 },
        kubeconfig: '',
        extra: 1,
      },
      problems,
      'kubernetes',
      {},
    );
    const text = problems.all.join('\n');
    for (const path of [
      'kubernetes.nodeName',
      'kubernetes.deletedPodGrace',
      'kubernetes.maxWaiting',
      'kubernetes.maxWait',
      'kubernetes.watchBackoff.initial',
      'kubernetes.watchBackoff.jitter',
      'kubernetes.kubeconfig',
      'kubernetes.extra',
    ]) {
      expect(text).toContain(`${path}:`);
    }
  });

  it('collector: defaults from POD_NAMESPACE; short service-account names are expanded', () => {
    const problems = new Problems();
    const c = parseKubeCollectorConfig(
      { agentServiceAccounts: ['sec:agent', 'system:serviceaccount:sec:agent2'] },
      problems,
      'kubernetes',
      { POD_NAMESPACE: 'sec' },
    );
    expect(problems.all).toEqual([]);
    expect(c.namespace).toBe('sec');
    expect(c.agentServiceAccounts).toEqual(['system:serviceaccount:sec:agent', 'system:serviceaccount:sec:agent2']);
    expect(parseKubeCollectorConfig({}, new Problems(), 'kubernetes', {}).agentServiceAccounts).toEqual([
      'system:serviceaccount:tripline:tripline-agent',
    ]);
  });

  it('collector: reports every problem with its path', () => {
    const problems = new Problems();
    parseKubeCollectorConfig(
      {
        namespace: 'Not A Namespace',
        agentServiceAccounts: ['justaname', 'system:user:x:y'],
        tokenAudience: '',
        tokenCacheTtl: 'forever',
        tokenCacheMax: 0,
        baselineWriteConcurrency: 1.5,
        cluster: 'Prod!',
        typo: true,
      },
      problems,
      'k8s',
      {},
    );
    const text = problems.all.join('\n');
    for (const path of [
      'k8s.namespace',
      'k8s.agentServiceAccounts[0]',
      'k8s.agentServiceAccounts[1]',
      'k8s.tokenAudience',
      'k8s.tokenCacheTtl',
      'k8s.tokenCacheMax',
      'k8s.baselineWriteConcurrency',
      'k8s.cluster',
      'k8s.typo',
    ]) {
      expect(text).toContain(`${path}:`);
    }
  });
});
