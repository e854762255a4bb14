/**
 * PolicySource backed by the config file: the default policy with every matching
 * per-workload override applied in order. Results are cached per workload key because
 * the analyzer asks on every profile creation and after every reload.
 */
import { workloadKey, type WorkloadRef } from '../../proto/events.js';
import { compileGlob, type GlobMatcher } from './glob.js';
import type { PolicyConfig } from './policy-config.js';
import type { EffectivePolicy, PolicySource } from './policy.js';

/** A PolicySource whose config can be replaced at run time (config file reload). */
export interface StaticPolicySource extends PolicySource {
  /** Swaps the config and notifies every `onChange` listener. */
  update(config: PolicyConfig): void;
}

const MAX_CACHED = 100_000;

export function createStaticPolicySource(initial: PolicyConfig): StaticPolicySource {
  let config = initial;
  let overrides = compileOverrides(config);
  const cache = new Map<string, EffectivePolicy>();
  const listeners = new Set<() => void>();

  return {
    policyFor(workload: WorkloadRef): EffectivePolicy {
      const key = workloadKey(workload);
      let p = cache.get(key);
      if (p) return p;
      p = resolve(config, overrides, key);
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, p);
      return p;
    },
    onChange(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    update(next: PolicyConfig): void {
      config = next;
      overrides = compileOverrides(next);
      cache.clear();
      for (const l of listeners) l();
    },
  };
}

function compileOverrides(config: PolicyConfig): { matches: GlobMatcher; o: PolicyConfig['workloads'][number] }[] {
  return config.workloads.map((o) => ({ matches: compileGlob(o.match), o }));
}

function resolve(config: PolicyConfig, overrides: ReturnType<typeof compileOverrides>, key: string): EffectivePolicy {
  let mode = config.mode;
  let learning = config.learning;
  let protectedPaths = config.protectedPaths;
  let defaultTier = config.defaultTier;
  let allowedFlows = config.allowedFlows;
  let exceptions = config.exceptions;
  let severityOverrides = config.severityOverrides;
  for (const { matches, o } of overrides) {
    if (!matches(key)) continue;
    if (o.mode) mode = o.mode;
    if (o.learning) learning = { ...learning, ...o.learning };
    if (o.protectedPaths) protectedPaths = o.protectedPaths;
    if (o.defaultTier) defaultTier = o.defaultTier;
    if (o.allowedFlows) allowedFlows = [...allowedFlows, ...o.allowedFlows];
    if (o.exceptions) exceptions = [...exceptions, ...o.exceptions];
    if (o.severityOverrides) severityOverrides = { ...severityOverrides, ...o.severityOverrides };
  }
  return Object.freeze({
    mode,
    learning: Object.freeze({ ...learning }),
    protectedPaths: Object.freeze([...protectedPaths]),
    defaultTier,
    allowedFlows: Object.freeze([...allowedFlows]),
    exceptions: Object.freeze([...exceptions]),
    severityOverrides: Object.freeze({ ...severityOverrides }),
  });
}
