/**
 * PodResolver backed by a node-local pod informer (field selector spec.nodeName=<node>):
 * the agent only ever holds the pods of its own node, so memory and watch traffic stay
 * flat as the cluster grows.
 *
 * Short-lived pods are the hard case: a Job's container can exec, connect and exit
 * before the kubelet has written its container id into the pod status, and the pod can
 * be deleted before the agent's pipeline drains. So lookups for an unknown container
 * can wait (bounded in count and time) until the pod shows up, and deleted pods stay
 * resolvable for a grace period.
 */
import { CoreV1Api, type KubeConfig, type V1ContainerStatus, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { WorkloadRef } from '../../proto/events.js';
import type { PodInfo, PodResolver } from '../containers/pod-resolver.js';
import {
  bareContainerId,
  imageDigest,
  podWorkload,
  sharesHostNamespace,
  slimMetadata,
} from '../../lib/kube/pod-workload.js';
import { counter, createResilientInformer } from '../../lib/kube/resilient-informer.js';
import type { KubePodResolverConfig } from './kube-pod-resolver-config.js';

export interface KubePodResolver extends PodResolver {
  waitFor(containerId: string, podUid: string, timeoutMs: number): Promise<PodInfo | undefined>;
  /** Lists the node's pods and starts watching; rejects if the first list fails within `timeoutMs`. */
  start(timeoutMs?: number): Promise<void>;
  /** Stops the informer and answers every waiting lookup with undefined. */
  stop(): Promise<void>;
}

export interface KubePodResolverOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: KubePodResolverConfig;
  /** Cluster name that goes into every WorkloadRef. */
  readonly cluster: string;
  readonly log: Logger;
  readonly registry: Registry;
  /** Clock, for tests of the deleted-pod grace period. */
  readonly now?: () => number;
}

interface ContainerEntry {
  readonly podUid: string;
  readonly name: string;
  readonly digest: string;
}

interface PodEntry {
  pod: V1Pod;
  /** When the pod was deleted (ms), or 0 while it exists. */
  deletedAt: number;
}

interface Waiter {
  readonly containerId: string;
  readonly podUid: string;
  readonly resolve: (info: PodInfo | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

export function createKubePodResolver(opts: KubePodResolverOptions): KubePodResolver {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log.child({ component: 'kube-pod-resolver' });
  const waits = counter(
    opts.registry,
    'tripline_agent_kube_pod_waits_total',
    'Lookups that waited for an unknown pod, by outcome.',
    ['result'],
  );
  const pods = new Map<string, PodEntry>();
  const containers = new Map<string, ContainerEntry>();
  const waiters = new Set<Waiter>();
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  if (!opts.registry.getSingleMetric('tripline_agent_kube_pods')) {
    new Gauge({
      name: 'tripline_agent_kube_pods',
      help: 'Pods of this node held for resolution (deleted ones until their grace period ends), and lookups waiting for a pod.',
      labelNames: ['state'],
      registers: [opts.registry],
      collect() {
        let deleted = 0;
        for (const p of pods.values()) if (p.deletedAt) deleted++;
        this.set({ state: 'live' }, pods.size - deleted);
        this.set({ state: 'deleted' }, deleted);
        this.set({ state: 'waiting' }, waiters.size);
      },
    });
  }

  function index(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const entry = pods.get(uid);
    if (entry) entry.pod = pod;
    else pods.set(uid, { pod, deletedAt: 0 });
    const statuses = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.ephemeralContainerStatuses ?? []),
    ];
    for (const s of statuses) {
      // A restarted container gets a new id; the old one stays mapped so its late
      // events still resolve, until the pod itself is forgotten.
      for (const id of [bareContainerId(s.containerID), bareContainerId(s.lastState?.terminated?.containerID)]) {
        if (id) containers.set(id, { podUid: uid, name: s.name, digest: imageDigest(s.imageID) });
      }
    }
    for (const w of waiters) {
      const info = lookup(w.containerId, w.podUid);
      if (info) finish(w, info, 'resolved');
    }
  }

  /** The pod, unless it was deleted longer ago than the grace period. */
  function live(uid: string): PodEntry | undefined {
    const p = pods.get(uid);
    if (p?.deletedAt && now() - p.deletedAt > config.deletedPodGraceMs) {
      forget(uid);
      return undefined;
    }
    return p;
  }

  function forget(uid: string): void {
    pods.delete(uid);
    for (const [id, c] of containers) if (c.podUid === uid) containers.delete(id);
  }

  function info(pod: V1Pod, containerName: string, digest: string): PodInfo | undefined {
    const spec = pod.spec;
    const c =
      spec?.containers.find((x) => x.name === containerName) ??
      spec?.initContainers?.find((x) => x.name === containerName) ??
      spec?.ephemeralContainers?.find((x) => x.name === containerName);
    if (!c) return undefined;
    const owner = podWorkload(pod);
    const workload: WorkloadRef = {
      cluster: opts.cluster,
      namespace: pod.metadata?.namespace ?? '',
      kind: owner.kind,
      name: owner.name,
      container: containerName,
    };
    return {
      workload,
      image: c.image ?? '',
      imageDigest: digest,
      privileged: sharesHostNamespace(pod) || c.securityContext?.privileged === true,
      labels: { ...(pod.metadata?.labels ?? {}) },
    };
  }

  function lookup(containerId: string, podUid: string): PodInfo | undefined {
    const c = containerId ? containers.get(containerId) : undefined;
    if (c) {
      const p = live(c.podUid);
      return p && info(p.pod, c.name, c.digest);
    }
    // The kubelet writes container ids into the status only after the container
    // started; until then a pod with a single container can only mean that one.
    const p = podUid ? live(podUid) : undefined;
    const spec = p?.pod.spec;
    if (
      p &&
      spec &&
      spec.containers.length === 1 &&
      !spec.initContainers?.length &&
      !spec.ephemeralContainers?.length
    ) {
      return info(p.pod, spec.containers[0]!.name, '');
    }
    return undefined;
  }

  function finish(w: Waiter, result: PodInfo | undefined, outcome: 'resolved' | 'timeout' | 'stopped'): void {
    if (!waiters.delete(w)) return;
    clearTimeout(w.timer);
    waits.inc({ result: outcome });
    w.resolve(result);
  }

  const informer = createResilientInformer<V1Pod>({
    kubeConfig: opts.kubeConfig,
    path: '/api/v1/pods',
    fieldSelector: `spec.nodeName=${config.nodeName}`,
    list: () => api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${config.nodeName}` }),
    resource: 'pods',
    transform: slimPod,
    handlers: {
      add: index,
      update: index,
      delete: (pod) => {
        const entry = pod.metadata?.uid ? pods.get(pod.metadata.uid) : undefined;
        if (entry) entry.deletedAt = now();
      },
    },
    log,
    registry: opts.registry,
    metricPrefix: 'tripline_agent',
    backoff: config.watchBackoff,
  });

  const sweeper = setInterval(
    () => {
      const cutoff = now() - config.deletedPodGraceMs;
      for (const [uid, p] of pods) if (p.deletedAt && p.deletedAt <= cutoff) forget(uid);
    },
    Math.max(1000, Math.min(config.deletedPodGraceMs / 4, 30_000)),
  );
  sweeper.unref();

  return {
    lookup,
    waitFor(containerId, podUid, timeoutMs) {
      const known = lookup(containerId, podUid);
      if (known) return Promise.resolve(known);
      if (waiters.size >= config.maxWaiting) {
        waits.inc({ result: 'overflow' });
        return Promise.resolve(undefined);
      }
      return new Promise((resolve) => {
        const w: Waiter = {
          containerId,
          podUid,
          resolve,
          timer: setTimeout(
            () => finish(w, lookup(containerId, podUid), 'timeout'),
            Math.min(timeoutMs, config.maxWaitMs),
          ),
        };
        waiters.add(w);
      });
    },
    start: (timeoutMs) => informer.start(timeoutMs),
    async stop() {
      clearInterval(sweeper);
      for (const w of [...waiters]) finish(w, undefined, 'stopped');
      await informer.stop();
    },
  };
}

/** The parts of a pod identity resolution reads; the informer caches only these. */
function slimPod(pod: V1Pod): V1Pod {
  const spec = pod.spec;
  const containers = <C extends { name: string; image?: string; securityContext?: { privileged?: boolean } }>(
    list: C[] | undefined,
  ) =>
    list?.map((c) => ({
      name: c.name,
      image: c.image,
      securityContext: { privileged: c.securityContext?.privileged },
    })) as C[] | undefined;
  const statuses = (list: V1ContainerStatus[] | undefined): V1ContainerStatus[] | undefined =>
    list?.map((s) => ({
      name: s.name,
      containerID: s.containerID,
      imageID: s.imageID,
      image: s.image,
      ready: s.ready,
      restartCount: s.restartCount,
      lastState: {
        terminated: s.lastState?.terminated?.containerID
          ? { containerID: s.lastState.terminated.containerID, exitCode: s.lastState.terminated.exitCode }
          : undefined,
      },
    }));
  return {
    metadata: slimMetadata(pod.metadata),
    spec: spec && {
      nodeName: spec.nodeName,
      hostPID: spec.hostPID,
      hostNetwork: spec.hostNetwork,
      hostIPC: spec.hostIPC,
      containers: containers(spec.containers) ?? [],
      initContainers: containers(spec.initContainers),
      ephemeralContainers: containers(spec.ephemeralContainers),
    },
    status: {
      phase: pod.status?.phase,
      containerStatuses: statuses(pod.status?.containerStatuses),
      initContainerStatuses: statuses(pod.status?.initContainerStatuses),
      ephemeralContainerStatuses: statuses(pod.status?.ephemeralContainerStatuses),
    },
  };
}
