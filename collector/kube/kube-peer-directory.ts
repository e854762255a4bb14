/**
 * PeerDirectory from cluster-wide pod, service and namespace informers: which workload
 * is behind a pod IP or a service cluster IP, and its sensitivity tier (label
 * tripline.io/sensitivity on the pod, else on its namespace, else the policy default).
 *
 * Lookups run once per egress event, so they are map reads; the expensive part — which
 * workload a service selects — is computed once per service and recomputed only after
 * pods or services of that namespace changed.
 */
import { CoreV1Api, type KubeConfig, type V1Namespace, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { workloadKey, type WorkloadRef } from '../../proto/events.js';
import type { PeerDirectory, PeerWorkload } from '../enrich/peer-directory.js';
import { TIERS, type PolicySource, type Tier } from '../policy/policy.js';
import { podWorkload, slimMetadata } from '../../lib/kube/pod-workload.js';
import { createResilientInformer, type ResilientInformer } from '../../lib/kube/resilient-informer.js';

export const SENSITIVITY_LABEL = 'tripline.io/sensitivity';

export interface KubePeerDirectory extends PeerDirectory {
  /** Lists pods, services and namespaces and starts watching; rejects if a first list fails within `timeoutMs`. */
  start(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface KubePeerDirectoryOptions {
  readonly kubeConfig: KubeConfig;
  /** Cluster name that goes into workload keys. */
  readonly cluster: string;
  /** Supplies the default tier when neither pod nor namespace is labelled. */
  readonly policies: PolicySource;
  readonly watchBackoff: { readonly initialMs: number; readonly maxMs: number };
  readonly log: Logger;
  readonly registry: Registry;
}

interface PodEntry {
  readonly uid: string;
  readonly namespace: string;
  readonly workload: WorkloadRef;
  readonly labels: Readonly<Record<string, string>>;
  readonly ips: readonly string[];
  /** Last answer, valid while `tierGeneration` is unchanged. */
  answer?: { tierGeneration: number; peer: PeerWorkload };
}

interface ServiceEntry {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly ips: readonly string[];
  /** Resolution and the namespace generation it was computed at. */
  resolved?: { generation: number; workload: WorkloadRef; labels: Readonly<Record<string, string>> | undefined };
  answer?: { generation: number; tierGeneration: number; peer: PeerWorkload };
}

export function createKubePeerDirectory(opts: KubePeerDirectoryOptions): KubePeerDirectory {
  const log = opts.log.child({ component: 'kube-peer-directory' });
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const pods = new Map<string, PodEntry>(); // by uid
  const podByIp = new Map<string, string>(); // ip → uid
  const services = new Map<string, ServiceEntry>(); // "ns/name"
  const serviceByIp = new Map<string, string>(); // ip → "ns/name"
  /** Bumped when a pod or service of the namespace changes; invalidates service resolutions. */
  const generations = new Map<string, number>();
  const bump = (ns: string): void => void generations.set(ns, (generations.get(ns) ?? 0) + 1);
  /** Bumped when namespace labels or policies change: every cached tier may be stale. */
  let tierGeneration = 0;
  const bumpTiers = (): void => void tierGeneration++;
  const unsubscribePolicies = opts.policies.onChange(bumpTiers);
  if (!opts.registry.getSingleMetric('tripline_collector_kube_peer_addresses')) {
    new Gauge({
      name: 'tripline_collector_kube_peer_addresses',
      help: 'Cluster addresses the peer directory maps to workloads, by owner.',
      labelNames: ['owner'],
      registers: [opts.registry],
      collect() {
        this.set({ owner: 'pod' }, podByIp.size);
        this.set({ owner: 'service' }, serviceByIp.size);
      },
    });
  }

  function podUpsert(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    podRemove(pod);
    const phase = pod.status?.phase;
    // A host-network pod's IP is its node's, shared by everything on that node; a finished
    // pod's IP may already belong to a new pod.
    const owns = !pod.spec?.hostNetwork && phase !== 'Succeeded' && phase !== 'Failed';
    const ips = owns
      ? [
          ...new Set(
            [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)].filter((ip): ip is string =>
              Boolean(ip),
            ),
          ),
        ]
      : [];
    const owner = podWorkload(pod);
    const namespace = pod.metadata?.namespace ?? '';
    const entry: PodEntry = {
      uid,
      namespace,
      workload: { cluster: opts.cluster, namespace, kind: owner.kind, name: owner.name, container: '' },
      labels: { ...(pod.metadata?.labels ?? {}) },
      ips,
    };
    pods.set(uid, entry);
    for (const ip of ips) podByIp.set(ip, uid);
    bump(namespace);
  }

  function podRemove(pod: V1Pod): void {
    const old = pod.metadata?.uid ? pods.get(pod.metadata.uid) : undefined;
    if (!old) return;
    pods.delete(old.uid);
    for (const ip of old.ips) if (podByIp.get(ip) === old.uid) podByIp.delete(ip);
    bump(old.namespace);
  }

  function serviceUpsert(svc: V1Service): void {
    serviceRemove(svc);
    const namespace = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const ips = [...new Set([svc.spec?.clusterIP, ...(svc.spec?.clusterIPs ?? [])])].filter(
      (ip): ip is string => Boolean(ip) && ip !== 'None',
    );
    const entry: ServiceEntry = {
      namespace,
      name,
      selector: svc.spec?.selector,
      labels: { ...(svc.metadata?.labels ?? {}) },
      ips,
    };
    services.set(`${namespace}/${name}`, entry);
    for (const ip of ips) serviceByIp.set(ip, `${namespace}/${name}`);
    bump(namespace);
  }

  function serviceRemove(svc: V1Service): void {
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const old = services.get(key);
    if (!old) return;
    services.delete(key);
    for (const ip of old.ips) if (serviceByIp.get(ip) === key) serviceByIp.delete(ip);
    bump(old.namespace);
  }

  /** The single workload a service selects, or the service itself when it selects several or none. */
  function resolveService(s: ServiceEntry): NonNullable<ServiceEntry['resolved']> {
    const generation = generations.get(s.namespace) ?? 0;
    if (s.resolved?.generation === generation) return s.resolved;
    let found: PodEntry | undefined;
    let several = false;
    if (s.selector && Object.keys(s.selector).length) {
      for (const p of pods.values()) {
        if (p.namespace !== s.namespace || !Object.entries(s.selector).every(([k, v]) => p.labels[k] === v)) continue;
        if (found && workloadKey(found.workload) !== workloadKey(p.workload)) {
          several = true;
          break;
        }
        found ??= p;
      }
    }
    s.resolved =
      found && !several
        ? { generation, workload: found.workload, labels: found.labels }
        : {
            generation,
            workload: { cluster: opts.cluster, namespace: s.namespace, kind: 'Service', name: s.name, container: '' },
            labels: s.labels,
          };
    return s.resolved;
  }

  function tierOf(workload: WorkloadRef, labels: Readonly<Record<string, string>> | undefined): Tier {
    const fromPod = labels?.[SENSITIVITY_LABEL];
    if (TIERS.includes(fromPod as Tier)) return fromPod as Tier;
    const fromNs = namespaces.get(workload.namespace)?.metadata?.labels?.[SENSITIVITY_LABEL];
    if (TIERS.includes(fromNs as Tier)) return fromNs as Tier;
    return opts.policies.policyFor(workload, labels).defaultTier;
  }

  const common = {
    kubeConfig: opts.kubeConfig,
    log,
    registry: opts.registry,
    metricPrefix: 'tripline_collector' as const,
    backoff: opts.watchBackoff,
  };
  const informers: ResilientInformer<unknown>[] = [];
  const podInformer = createResilientInformer<V1Pod>({
    ...common,
    path: '/api/v1/pods',
    list: () => api.listPodForAllNamespaces(),
    resource: 'pods',
    transform: (p) => ({
      metadata: slimMetadata(p.metadata),
      spec: p.spec && { nodeName: p.spec.nodeName, hostNetwork: p.spec.hostNetwork, containers: [] },
      status: { phase: p.status?.phase, podIP: p.status?.podIP, podIPs: p.status?.podIPs },
    }),
    handlers: { add: podUpsert, update: podUpsert, delete: podRemove },
  });
  const serviceInformer = createResilientInformer<V1Service>({
    ...common,
    path: '/api/v1/services',
    list: () => api.listServiceForAllNamespaces(),
    resource: 'services',
    transform: (svc) => ({
      metadata: slimMetadata(svc.metadata),
      spec: { clusterIP: svc.spec?.clusterIP, clusterIPs: svc.spec?.clusterIPs, selector: svc.spec?.selector },
    }),
    handlers: { add: serviceUpsert, update: serviceUpsert, delete: serviceRemove },
  });
  const namespaces = createResilientInformer<V1Namespace>({
    ...common,
    path: '/api/v1/namespaces',
    list: () => api.listNamespace(),
    resource: 'namespaces',
    transform: (ns) => ({ metadata: slimMetadata(ns.metadata) }),
    handlers: { add: bumpTiers, update: bumpTiers, delete: bumpTiers },
  });
  informers.push(podInformer, serviceInformer, namespaces);

  return {
    lookup(ip: string): PeerWorkload | undefined {
      const uid = podByIp.get(ip);
      const p = uid !== undefined ? pods.get(uid) : undefined;
      if (p) {
        if (p.answer?.tierGeneration !== tierGeneration) {
          p.answer = {
            tierGeneration,
            peer: { workloadKey: workloadKey(p.workload), tier: tierOf(p.workload, p.labels) },
          };
        }
        return p.answer.peer;
      }
      const skey = serviceByIp.get(ip);
      const s = skey !== undefined ? services.get(skey) : undefined;
      if (!s) return undefined;
      const generation = generations.get(s.namespace) ?? 0;
      if (s.answer?.generation !== generation || s.answer.tierGeneration !== tierGeneration) {
        const r = resolveService(s);
        s.answer = {
          generation,
          tierGeneration,
          peer: { workloadKey: workloadKey(r.workload), tier: tierOf(r.workload, r.labels) },
        };
      }
      return s.answer.peer;
    },
    async start(timeoutMs) {
      await Promise.all(informers.map((i) => i.start(timeoutMs)));
      log.info({ pods: pods.size, services: services.size }, 'cluster directory synced');
    },
    async stop() {
      unsubscribePolicies();
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
