/**
 * PolicySource layering RuntimePolicy resources over the config file's policy: the
 * config first, then the cluster default (RuntimePolicy `default` in the collector's
 * namespace), then every RuntimePolicy in the workload's namespace whose selector matches
 * the pod, in name order. Later layers replace scalars and protected paths, append
 * allowed flows and exceptions, and merge severity overrides — the same rules as the
 * config file's per-workload overrides. Changes apply live: listeners hear of every
 * add, edit and delete, and a policy that does not validate is reported in its status
 * and ignored (the previous layers stay in force).
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { workloadKey, type WorkloadRef } from '../../proto/events.js';
import type { EffectivePolicy, PolicySource } from '../policy/policy.js';
import { counter, createResilientInformer } from '../../lib/kube/resilient-informer.js';
import {
  CLUSTER_DEFAULT_NAME,
  POLICY_GROUP as group,
  POLICY_PLURAL as plural,
  POLICY_VERSION as version,
  compileRuntimePolicy,
  type CompiledPolicy,
  type RuntimePolicy,
} from './runtime-policy.js';

export interface KubePolicySource extends PolicySource {
  /** Lists RuntimePolicies and starts watching; rejects if the first list fails within `timeoutMs`. */
  start(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface KubePolicySourceOptions {
  readonly kubeConfig: KubeConfig;
  /** The collector's namespace (home of the cluster default). */
  readonly namespace: string;
  /** The config file's policy, the bottom layer. */
  readonly base: PolicySource;
  readonly watchBackoff: { readonly initialMs: number; readonly maxMs: number };
  readonly log: Logger;
  readonly registry: Registry;
}

const MAX_CACHED = 100_000;

export function createKubePolicySource(opts: KubePolicySourceOptions): KubePolicySource {
  const log = opts.log.child({ component: 'kube-policy-source' });
  const api = opts.kubeConfig.makeApiClient(CustomObjectsApi);
  const rejected = counter(
    opts.registry,
    'tripline_collector_kube_policies_rejected_total',
    'RuntimePolicy versions that did not validate and were ignored.',
    [],
  );
  const compiled = new Map<string, CompiledPolicy>(); // "ns/name"
  /** Spec generation last compiled per policy: status-only updates (ours) change nothing. */
  const generations = new Map<string, number>();
  const cache = new Map<string, EffectivePolicy>();
  const listeners = new Set<() => void>();

  const changed = (): void => {
    cache.clear();
    for (const l of listeners) {
      try {
        l();
      } catch (err) {
        log.error({ err }, 'policy change listener threw');
      }
    }
  };
  const unsubscribeBase = opts.base.onChange(changed);

  function reportStatus(obj: RuntimePolicy, accepted: boolean, problems: readonly string[]): void {
    const s = obj.status;
    const generation = obj.metadata.generation;
    if (
      s?.accepted === accepted &&
      s.observedGeneration === generation &&
      JSON.stringify(s.problems ?? []) === JSON.stringify(problems)
    )
      return;
    const status = {
      accepted,
      problems: [...problems],
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
    api
      .patchNamespacedCustomObjectStatus(
        { group, version, plural, namespace: obj.metadata.namespace, name: obj.metadata.name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch((err: unknown) =>
        log.warn(
          { policy: `${obj.metadata.namespace}/${obj.metadata.name}`, error: (err as Error).message },
          'could not write RuntimePolicy status',
        ),
      );
  }

  function upsert(obj: RuntimePolicy): void {
    const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const generation = obj.metadata.generation;
    if (generation !== undefined && generations.get(id) === generation) return;
    if (generation !== undefined) generations.set(id, generation);
    const result = compileRuntimePolicy(obj);
    if (!result.ok) {
      rejected.inc();
      log.warn({ policy: id, problems: result.problems }, 'RuntimePolicy rejected; it has no effect until fixed');
      const had = compiled.delete(id);
      reportStatus(obj, false, result.problems);
      if (had) changed();
      return;
    }
    compiled.set(id, result.policy);
    reportStatus(obj, true, []);
    log.info({ policy: id }, 'RuntimePolicy applied');
    changed();
  }

  function remove(obj: RuntimePolicy): void {
    generations.delete(`${obj.metadata.namespace}/${obj.metadata.name}`);
    if (compiled.delete(`${obj.metadata.namespace}/${obj.metadata.name}`)) changed();
  }

  function layers(workload: WorkloadRef, labels: Readonly<Record<string, string>> | undefined): CompiledPolicy[] {
    const out: CompiledPolicy[] = [];
    const clusterDefault = compiled.get(`${opts.namespace}/${CLUSTER_DEFAULT_NAME}`);
    if (clusterDefault) out.push(clusterDefault);
    const own = [...compiled.values()].filter(
      (p) => p !== clusterDefault && p.namespace === workload.namespace && p.selects(labels),
    );
    own.sort((a, b) => a.name.localeCompare(b.name));
    return out.concat(own);
  }

  const informer = createResilientInformer<RuntimePolicy>({
    kubeConfig: opts.kubeConfig,
    path: `/apis/${group}/${version}/${plural}`,
    list: () => api.listClusterCustomObject({ group, version, plural }),
    resource: plural,
    handlers: { add: upsert, update: upsert, delete: remove },
    log,
    registry: opts.registry,
    metricPrefix: 'tripline_collector',
    backoff: opts.watchBackoff,
  });

  return {
    policyFor(workload, labels) {
      const key = `${workloadKey(workload)}\u0000${labels ? Object.entries(labels).sort().join(';') : '?'}`;
      const hit = cache.get(key);
      if (hit) return hit;
      let p = opts.base.policyFor(workload, labels);
      for (const layer of layers(workload, labels)) p = apply(p, layer.override);
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, p);
      return p;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start: (timeoutMs) => informer.start(timeoutMs),
    async stop() {
      unsubscribeBase();
      listeners.clear();
      await informer.stop();
    },
  };
}

function apply(p: EffectivePolicy, o: CompiledPolicy['override']): EffectivePolicy {
  return Object.freeze({
    mode: o.mode ?? p.mode,
    learning: Object.freeze({ ...p.learning, ...o.learning }),
    protectedPaths: Object.freeze([...(o.protectedPaths ?? p.protectedPaths)]),
    defaultTier: o.defaultTier ?? p.defaultTier,
    allowedFlows: Object.freeze([...p.allowedFlows, ...(o.allowedFlows ?? [])]),
    exceptions: Object.freeze([...p.exceptions, ...(o.exceptions ?? [])]),
    severityOverrides: Object.freeze({ ...p.severityOverrides, ...o.severityOverrides }),
  });
}
