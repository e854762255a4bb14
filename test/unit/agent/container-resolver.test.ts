import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCgroupIndex } from '../../../agent/containers/cgroup-index.js';
import { createContainerResolver } from '../../../agent/containers/cgroup-resolver.js';
import type { PodInfo, PodResolver } from '../../../agent/containers/pod-resolver.js';
import { silentLogger } from '../../../lib/logger.js';

// A directory tree stands in for the cgroup hierarchy: the index only needs directory
// inodes, so the resolver logic is exercised without touching the host's cgroups.
const ID = 'ab'.repeat(32);
const UID = '11111111-2222-3333-4444-555555555555';
const POD_DIR = `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replaceAll('-', '_')}.slice`;
const CTR = `${POD_DIR}/cri-containerd-${ID}.scope`;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tripline-cgroots-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function mk(rel: string): number {
  mkdirSync(join(root, rel), { recursive: true });
  return statSync(join(root, rel)).ino;
}

function resolverWith(podResolver?: PodResolver, rewalkIntervalMs = 0) {
  const index = createCgroupIndex({ root, rewalkIntervalMs });
  return createContainerResolver({
    index,
    cluster: 'prod',
    cacheSize: 16,
    sweepIntervalMs: 60_000,
    podResolver,
    log: silentLogger(),
  });
}

const POD: PodInfo = {
  workload: { cluster: 'ignored', namespace: 'shop', kind: 'Deployment', name: 'checkout', container: 'app' },
  image: 'registry.example/checkout:1.2',
  imageDigest: 'sha256:' + 'c'.repeat(64),
  privileged: false,
  labels: { app: 'checkout' },
};

describe('container resolver', () => {
  it('names a host cgroup after its path', () => {
    const id = mk('system.slice/nginx.service');
    const r = resolverWith();
    try {
      expect(r.resolve(id)).toMatchObject({
        cgroupPath: '/system.slice/nginx.service',
        containerId: '',
        workload: { cluster: 'prod', namespace: '', kind: 'cgroup', name: 'system.slice/nginx.service', container: '' },
        provisional: false,
      });
    } finally {
      r.close();
    }
  });

  it('gives a Kubernetes container a provisional Pod ref until the pod is known, then upgrades', () => {
    const id = mk(CTR);
    let known = false;
    const r = resolverWith({ lookup: (c, p) => (known && c === ID && p === UID ? POD : undefined) });
    try {
      expect(r.resolve(id)).toMatchObject({
        containerId: ID,
        podUid: UID,
        workload: { cluster: 'prod', kind: 'Pod', name: UID, container: ID.slice(0, 12) },
        provisional: true,
      });
      known = true;
      expect(r.resolve(id)).toMatchObject({
        workload: { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'checkout', container: 'app' },
        imageDigest: POD.imageDigest,
        labels: { app: 'checkout' },
        provisional: false,
      });
    } finally {
      r.close();
    }
  });

  it('waits for a pod through settle() and returns the upgraded identity', async () => {
    const id = mk(CTR);
    const r = resolverWith({ lookup: () => undefined, waitFor: async () => POD });
    try {
      expect(r.resolve(id).provisional).toBe(true);
      const settled = await r.settle(id, 1000);
      expect(settled?.workload.name).toBe('checkout');
      expect(r.resolve(id).provisional).toBe(false);
      expect(r.settle(id, 1000)).toBeUndefined();
    } finally {
      r.close();
    }
  });

  it('settles with the provisional identity when the pod resolver never answers', async () => {
    const id = mk(CTR);
    const r = resolverWith({ lookup: () => undefined, waitFor: () => new Promise(() => {}) });
    try {
      r.resolve(id);
      const settled = await r.settle(id, 10);
      expect(settled).toMatchObject({ provisional: true, workload: { kind: 'Pod', name: UID } });
    } finally {
      r.close();
    }
  });

  it('finds a cgroup created after the first walk by walking again on a miss', () => {
    mk('system.slice');
    const r = resolverWith();
    try {
      expect(r.resolve(mk('system.slice')).cgroupPath).toBe('/system.slice');
      const late = mk('system.slice/late.service');
      expect(r.resolve(late).workload.name).toBe('system.slice/late.service');
    } finally {
      r.close();
    }
  });

  it('does not re-walk on every miss within the rewalk interval', () => {
    mk('a');
    let walks = 0;
    const index = createCgroupIndex({ root, rewalkIntervalMs: 60_000, onWalk: () => walks++ });
    for (let i = 0; i < 100; i++) index.pathOf(999_999_999 + i);
    expect(walks).toBe(1);
  });

  it('reports an id that is nowhere in the tree without caching it', () => {
    const r = resolverWith();
    try {
      expect(r.resolve(987_654_321)).toMatchObject({
        cgroupPath: '',
        workload: { kind: 'cgroup', name: 'cgroup-id/987654321' },
      });
    } finally {
      r.close();
    }
  });
});
