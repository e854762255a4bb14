import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { bareContainerId, imageDigest, podWorkload } from '../../../lib/kube/pod-workload.js';

const pod = (
  owner: { kind: string; name: string } | undefined,
  labels: Record<string, string> = {},
  name = 'p',
  nodeName = 'n1',
): V1Pod => ({
  metadata: {
    name,
    labels,
    ownerReferences: owner
      ? [{ apiVersion: 'v1', kind: owner.kind, name: owner.name, uid: 'u', controller: true }]
      : [],
  },
  spec: { nodeName, containers: [] },
});

describe('podWorkload', () => {
  it('derives Deployment from a ReplicaSet only with a matching pod-template-hash', () => {
    expect(
      podWorkload(pod({ kind: 'ReplicaSet', name: 'web-5c9f7d8b6' }, { 'pod-template-hash': '5c9f7d8b6' })),
    ).toEqual({ kind: 'Deployment', name: 'web' });
    expect(podWorkload(pod({ kind: 'ReplicaSet', name: 'web-5c9f7d8b6' }, { 'pod-template-hash': 'other' }))).toEqual({
      kind: 'ReplicaSet',
      name: 'web-5c9f7d8b6',
    });
    expect(podWorkload(pod({ kind: 'ReplicaSet', name: 'web-5c9f7d8b6' }))).toEqual({
      kind: 'ReplicaSet',
      name: 'web-5c9f7d8b6',
    });
  });

  it('derives CronJob from a Job only for a plausible scheduled-minute suffix', () => {
    expect(podWorkload(pod({ kind: 'Job', name: 'nightly-backup-29567040' }))).toEqual({
      kind: 'CronJob',
      name: 'nightly-backup',
    });
    expect(podWorkload(pod({ kind: 'Job', name: 'migrate-12345678' }))).toEqual({
      kind: 'Job',
      name: 'migrate-12345678',
    });
    expect(podWorkload(pod({ kind: 'Job', name: 'migrate-v2' }))).toEqual({ kind: 'Job', name: 'migrate-v2' });
  });

  it('keeps other owners, names bare pods after themselves and static pods without their node suffix', () => {
    expect(podWorkload(pod({ kind: 'StatefulSet', name: 'db' }))).toEqual({ kind: 'StatefulSet', name: 'db' });
    expect(podWorkload(pod({ kind: 'Rollout', name: 'canary' }))).toEqual({ kind: 'Rollout', name: 'canary' });
    expect(podWorkload(pod(undefined, {}, 'debug'))).toEqual({ kind: 'Pod', name: 'debug' });
    expect(podWorkload(pod({ kind: 'Node', name: 'cp-1' }, {}, 'kube-apiserver-cp-1', 'cp-1'))).toEqual({
      kind: 'Pod',
      name: 'kube-apiserver',
    });
  });

  it('strips runtime schemes from container ids and extracts image digests', () => {
    expect(bareContainerId('containerd://abc')).toBe('abc');
    expect(bareContainerId('cri-o://abc')).toBe('abc');
    expect(bareContainerId('docker://abc')).toBe('abc');
    expect(bareContainerId(undefined)).toBe('');
    const d = 'sha256:' + 'f'.repeat(64);
    expect(imageDigest(`docker.io/library/nginx@${d}`)).toBe(d);
    expect(imageDigest(d)).toBe(d);
    expect(imageDigest('docker.io/library/nginx:1.27')).toBe('');
  });
});
