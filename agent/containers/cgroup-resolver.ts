/**
 * The container resolver: cgroup id → cgroup path (CgroupIndex) → runtime container id
 * and pod UID (cgroup naming) → workload (PodResolver for Kubernetes containers, the
 * cgroup path otherwise).
 *
 * Resolutions are cached in a bounded LRU. Removed cgroups are evicted by a periodic
 * sweep that stats each cached path: inotify does not report the removal of cgroup v2
 * directories reliably (cgroupfs only promises modify events on cgroup.events), and
 * kernfs does not reuse ids, so a stale entry can only waste memory, never mislabel an
 * event — a slow sweep plus the LRU bound is enough.
 */
import type { Logger } from '../../lib/logger.js';
import type { WorkloadRef } from '../../proto/events.js';
import type { ContainerResolver, ResolvedContainer } from './container-resolver.js';
import type { CgroupIndex } from './cgroup-index.js';
import { cgroupWorkloadName, parseCgroupPath } from './cgroup-naming.js';
import type { PodInfo, PodResolver } from './pod-resolver.js';

export interface ContainerResolverOptions {
  readonly index: CgroupIndex;
  /** Cluster name for every WorkloadRef. */
  readonly cluster: string;
  readonly cacheSize: number;
  readonly sweepIntervalMs: number;
  readonly podResolver?: PodResolver;
  readonly log: Logger;
  /** Counts resolutions by result: cached, walked, unknown. */
  readonly onResolve?: (result: 'cached' | 'walked' | 'unknown') => void;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export function createContainerResolver(opts: ContainerResolverOptions): ContainerResolver {
  const log = opts.log.child({ component: 'container-resolver' });
  const cache = new Map<number, ResolvedContainer>();
  const sweep = setInterval(sweepRemoved, opts.sweepIntervalMs);
  sweep.unref();

  function remember(id: number, r: ResolvedContainer): void {
    cache.delete(id);
    cache.set(id, r);
    if (cache.size > opts.cacheSize) cache.delete(cache.keys().next().value!);
  }

  function sweepRemoved(): void {
    let evicted = 0;
    for (const [id, r] of cache) {
      if (!opts.index.stillExists(id, r.cgroupPath)) {
        cache.delete(id);
        evicted++;
      }
    }
    if (evicted) log.debug({ evicted, cached: cache.size }, 'evicted resolutions of removed cgroups');
  }

  function cgroupRef(path: string): WorkloadRef {
    return { cluster: opts.cluster, namespace: '', kind: 'cgroup', name: cgroupWorkloadName(path), container: '' };
  }

  function withPod(base: ResolvedContainer, pod: PodInfo): ResolvedContainer {
    return {
      ...base,
      workload: { ...pod.workload, cluster: opts.cluster },
      image: pod.image,
      imageDigest: pod.imageDigest,
      privileged: pod.privileged,
      labels: pod.labels,
      provisional: false,
    };
  }

  function fromPath(path: string): ResolvedContainer {
    const { containerId, podUid } = parseCgroupPath(path);
    const base: ResolvedContainer = {
      cgroupPath: path,
      containerId,
      podUid,
      workload: cgroupRef(path),
      image: '',
      imageDigest: '',
      privileged: false,
      labels: NO_LABELS,
      provisional: false,
    };
    // Only a container inside a pod has an owner to find; a pod-level cgroup (or the
    // runtime monitor) keeps its cgroup name.
    if (!podUid || !containerId) return base;
    const pod = opts.podResolver?.lookup(containerId, podUid);
    if (pod) return withPod(base, pod);
    return {
      ...base,
      workload: {
        cluster: opts.cluster,
        namespace: '',
        kind: 'Pod',
        name: podUid,
        container: containerId.slice(0, 12),
      },
      provisional: true,
    };
  }

  function upgrade(id: number, r: ResolvedContainer, pod: PodInfo | undefined): ResolvedContainer {
    if (!pod) return r;
    const up = withPod(r, pod);
    remember(id, up);
    return up;
  }

  return {
    resolve(cgroupId) {
      const hit = cache.get(cgroupId);
      if (hit) {
        opts.onResolve?.('cached');
        if (!hit.provisional) return hit;
        return upgrade(cgroupId, hit, opts.podResolver?.lookup(hit.containerId, hit.podUid));
      }
      const path = opts.index.pathOf(cgroupId);
      if (path === undefined) {
        opts.onResolve?.('unknown');
        // The cgroup is gone (or not yet walked): name it by id so its events stay
        // attributable in reports, and do not cache so a later walk can still find it.
        return {
          cgroupPath: '',
          containerId: '',
          podUid: '',
          workload: {
            cluster: opts.cluster,
            namespace: '',
            kind: 'cgroup',
            name: `cgroup-id/${cgroupId}`,
            container: '',
          },
          image: '',
          imageDigest: '',
          privileged: false,
          labels: NO_LABELS,
          provisional: false,
        };
      }
      opts.onResolve?.('walked');
      const r = fromPath(path);
      remember(cgroupId, r);
      return r;
    },
    settle(cgroupId, timeoutMs) {
      const r = cache.get(cgroupId);
      const waitFor = opts.podResolver?.waitFor;
      if (!r || !r.provisional || !waitFor) return undefined;
      // The PodResolver promises to answer within timeoutMs; held events must not depend
      // on that promise being kept.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, timeoutMs + 100, undefined);
      });
      return Promise.race([waitFor.call(opts.podResolver, r.containerId, r.podUid, timeoutMs), deadline])
        .then((pod) => upgrade(cgroupId, cache.get(cgroupId) ?? r, pod))
        .catch(() => r)
        .finally(() => clearTimeout(timer));
    },
    close() {
      clearInterval(sweep);
    },
  };
}
