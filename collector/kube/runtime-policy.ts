/**
 * The RuntimePolicy resource (deploy/crds/runtimepolicies.yaml): reading one into the
 * same override form the config file's `policy.workloads` entries use, so a policy
 * means the same thing whether it comes from a file or from the API server.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { Problems } from '../../lib/config-problems.js';
import { parsePolicyConfig, type PolicyOverride } from '../policy/policy-config.js';

export const POLICY_GROUP = 'tripline.io';
export const POLICY_VERSION = 'v1alpha1';
export const POLICY_PLURAL = 'runtimepolicies';
/** The RuntimePolicy with this name in the collector's namespace is the cluster default. */
export const CLUSTER_DEFAULT_NAME = 'default';

interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RuntimePolicy extends KubernetesObject {
  metadata: { name: string; namespace: string; generation?: number; resourceVersion?: string };
  spec?: Record<string, unknown> & { selector?: LabelSelector };
  status?: { accepted?: boolean; problems?: string[]; observedGeneration?: number };
}

/** A policy ready to apply: which pods it selects and what it overrides. */
export interface CompiledPolicy {
  readonly namespace: string;
  readonly name: string;
  /** True for pods the selector matches; `undefined` labels (unknown pod) match only an empty selector. */
  readonly selects: (labels: Readonly<Record<string, string>> | undefined) => boolean;
  readonly override: Omit<PolicyOverride, 'match'>;
}

export type CompileResult =
  { readonly ok: true; readonly policy: CompiledPolicy } | { readonly ok: false; readonly problems: readonly string[] };

const SPEC_FIELDS: Record<string, string> = {
  mode: 'mode',
  learning: 'learning',
  protectedPaths: 'protectedPaths',
  defaultSensitivity: 'defaultTier',
  allowedFlows: 'allowedFlows',
  exceptions: 'exceptions',
  severityOverrides: 'severityOverrides',
};

export function compileRuntimePolicy(obj: RuntimePolicy): CompileResult {
  const problems = new Problems();
  const spec = obj.spec ?? {};
  const fields: Record<string, unknown> = { match: '**' };
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'selector') continue;
    const mapped = SPEC_FIELDS[k];
    if (mapped) fields[mapped] = v;
    else problems.add(`spec.${k}`, `unknown field; expected selector, ${Object.keys(SPEC_FIELDS).join(', ')}`);
  }
  const parsed = parsePolicyConfig({ workloads: [fields] }, problems, 'spec');
  const selects = compileSelector(spec.selector, problems);
  const all = problems.all.map((p) =>
    p.replace('spec.workloads[0].defaultTier', 'spec.defaultSensitivity').replace('spec.workloads[0]', 'spec'),
  );
  if (all.length) return { ok: false, problems: all };
  const { match: _match, ...override } = parsed.workloads[0]!;
  return { ok: true, policy: { namespace: obj.metadata.namespace, name: obj.metadata.name, selects, override } };
}

/** A metav1.LabelSelector as a predicate. An absent or empty selector selects every pod. */
function compileSelector(raw: LabelSelector | undefined | null, problems: Problems): CompiledPolicy['selects'] {
  if (raw === undefined || raw === null) return () => true;
  const matchLabels = raw.matchLabels ?? {};
  const exprs = raw.matchExpressions ?? [];
  exprs.forEach((e, i) => {
    const p = `spec.selector.matchExpressions[${i}]`;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator))
      problems.add(`${p}.operator`, 'must be In, NotIn, Exists or DoesNotExist');
    if ((e.operator === 'In' || e.operator === 'NotIn') && !e.values?.length)
      problems.add(`${p}.values`, `must be non-empty for ${e.operator}`);
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && e.values?.length)
      problems.add(`${p}.values`, `must be empty for ${e.operator}`);
  });
  if (!Object.keys(matchLabels).length && !exprs.length) return () => true;
  return (labels) => {
    if (!labels) return false;
    for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
    for (const e of exprs) {
      const v = labels[e.key];
      const ok =
        e.operator === 'In'
          ? v !== undefined && (e.values ?? []).includes(v)
          : e.operator === 'NotIn'
            ? v === undefined || !(e.values ?? []).includes(v)
            : e.operator === 'Exists'
              ? v !== undefined
              : v === undefined;
      if (!ok) return false;
    }
    return true;
  };
}
