import type { WorkloadRef } from '../../proto/events.js';
import type { RuleId, Severity } from '../../proto/incident.js';

export const TIERS = ['public', 'internal', 'confidential', 'restricted'] as const;
/** Sensitivity tier; the internet is 'public'. Ordered low → high. */
export type Tier = (typeof TIERS)[number];

export function tierRank(t: Tier): number {
  return TIERS.indexOf(t);
}

export interface LearningWindows {
  /** Learning lasts at least this long. */
  readonly minDurationMs: number;
  /** …and ends once no novel item appeared for this long. */
  readonly stableForMs: number;
  /** …and ends at this age regardless (unless the profile is partial). */
  readonly maxDurationMs: number;
}

/** A permitted flow between tiers or workloads; patterns are globs ('*' any run). */
export interface AllowedFlow {
  /** Source workload key glob, e.g. "prod/payments/Deployment/api/*". */
  readonly from: string;
  /** Destination: a workload key glob, a CIDR, a DNS name glob, or "tier:<tier>". */
  readonly to: string;
}

/** Silences a rule for matching items until it expires. */
export interface PolicyException {
  /** Rule id, or '*' for every rule. */
  readonly rule: RuleId | '*';
  /** Workload key glob. */
  readonly workload: string;
  /** Item key glob, e.g. "/usr/bin/*". */
  readonly key: string;
  /** Milliseconds since the epoch; undefined = no expiry. */
  readonly expiresMs: number | undefined;
  /** Why the exception exists (shown in the API). */
  readonly reason: string;
}

/** The policy in force for one workload, after selectors and defaults were applied. */
export interface EffectivePolicy {
  /** 'learn' records but never alerts; 'detect' learns until stable, then alerts. */
  readonly mode: 'learn' | 'detect';
  readonly learning: LearningWindows;
  /** Path globs that protected-path-write guards. */
  readonly protectedPaths: readonly string[];
  /** Tier when neither pod nor namespace carries tripline.io/sensitivity. */
  readonly defaultTier: Tier;
  readonly allowedFlows: readonly AllowedFlow[];
  readonly exceptions: readonly PolicyException[];
  readonly severityOverrides: Readonly<Partial<Record<RuleId, Severity>>>;
}

/** Where the collector gets policies: static config (embedded) or RuntimePolicy resources. */
export interface PolicySource {
  /** The policy for a workload; `labels` are the pod's labels when known. */
  policyFor(workload: WorkloadRef, labels?: Readonly<Record<string, string>>): EffectivePolicy;
  /** Called after any policy changed (live reload); returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** Defaults used when config says nothing (DESIGN.md "Detection"). */
export const DEFAULT_PROTECTED_PATHS: readonly string[] = [
  '/etc/**',
  '/bin/**',
  '/sbin/**',
  '/usr/bin/**',
  '/usr/sbin/**',
  '/lib/**',
  '/lib32/**',
  '/lib64/**',
  '/usr/lib/**',
  '/usr/lib32/**',
  '/usr/lib64/**',
  '/boot/**',
  '/root/.ssh/**',
  '/var/run/secrets/kubernetes.io/serviceaccount/**',
  '/run/secrets/kubernetes.io/serviceaccount/**',
];
