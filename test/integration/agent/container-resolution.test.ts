import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createCgroupIndex } from '../../../agent/containers/cgroup-index.js';
import { createContainerResolver } from '../../../agent/containers/cgroup-resolver.js';
import { findCgroupV2Root } from '../../../agent/containers/cgroup-root.js';
import { silentLogger } from '../../../lib/logger.js';
import { cgroupV2Root, createCgroupSandbox, type CgroupRuntime } from '../../helpers/cgroup.js';
import { waitFor } from '../../helpers/wait.js';

describe('container resolution against real cgroup v2 directories', () => {
  const sandbox = createCgroupSandbox();
  afterAll(() => sandbox.cleanup());

  it('detects the same v2 root the kernel uses', () => {
    expect(findCgroupV2Root()).toBe(cgroupV2Root());
  });

  it.each<CgroupRuntime>(['containerd', 'crio', 'docker', 'cgroupfs'])(
    'resolves a running %s container from its cgroup id to its container id and pod uid',
    async (runtime) => {
      const cg = sandbox.container(runtime, { qos: runtime === 'cgroupfs' ? 'guaranteed' : 'burstable' });
      const child = cg.spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      // The process's own view of its cgroup ties the kernel's id to the path we resolve.
      const line = await waitFor(
        () => {
          const text = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
          return text.split('\n').find((l) => l.startsWith('0::') && l.endsWith(cg.path));
        },
        { what: 'the child to join its cgroup' },
      );
      expect(line).toBe(`0::${cg.path}`);

      const index = createCgroupIndex({ root: findCgroupV2Root()!, rewalkIntervalMs: 0 });
      const resolver = createContainerResolver({
        index,
        cluster: 'c1',
        cacheSize: 64,
        sweepIntervalMs: 60_000,
        log: silentLogger(),
      });
      try {
        const r = resolver.resolve(cg.id);
        expect(r.cgroupPath).toBe(cg.path);
        expect(r.containerId).toBe(cg.containerId);
        expect(r.podUid).toBe(cg.podUid);
        expect(r.workload).toEqual({
          cluster: 'c1',
          namespace: '',
          kind: 'Pod',
          name: cg.podUid,
          container: cg.containerId.slice(0, 12),
        });
        expect(r.provisional).toBe(true);
      } finally {
        resolver.close();
        child.kill('SIGKILL');
      }
    },
  );

  it('forgets a removed cgroup: the index no longer finds its id after a re-walk', async () => {
    const local = createCgroupSandbox();
    let id: number;
    try {
      const cg = local.container('containerd');
      id = cg.id;
      const index = createCgroupIndex({ root: cgroupV2Root(), rewalkIntervalMs: 0 });
      expect(index.pathOf(id)).toBe(cg.path);
      expect(index.stillExists(id, cg.path)).toBe(true);
      await local.cleanup();
      expect(index.stillExists(id, cg.path)).toBe(false);
      // A fresh walk (forced by a miss on an id nobody has) drops the removed directory.
      index.pathOf(Number.MAX_SAFE_INTEGER);
      expect(index.pathOf(id)).toBeUndefined();
    } finally {
      await local.cleanup();
    }
  });
});
