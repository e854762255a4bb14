/**
 * The `policy` section of the collector config: a cluster-wide default plus per-workload
 * overrides selected by workload-key glob. Every problem is reported with its path.
 */
import type { Problems } from '../../lib/config-problems.js';
import { parseDuration } from '../../lib/duration.js';
import { RULE_IDS, SEVERITIES, type RuleId, type Severity } from '../../proto/incident.js';
import {
  DEFAULT_PROTECTED_PATHS,
  TIERS,
  type AllowedFlow,
  type LearningWindows,
  type PolicyException,
  type Tier,
} from './policy.js';

export type PolicyMode = 'learn' | 'detect';

/** Fields a workload override may set; absent fields inherit. */
export interface PolicyOverride {
  /** Workload key glob, e.g. "prod/payments/Deployment/**". */
  readonly match: string;
  readonly mode?: PolicyMode;
  readonly learning?: Partial<LearningWindows>;
  /** Replaces the inherited list. */
  readonly protectedPaths?: readonly string[];
  readonly defaultTier?: Tier;
  /** Appended to the inherited list. */
  readonly allowedFlows?: readonly AllowedFlow[];
  /** Appended to the inherited list. */
  readonly exceptions?: readonly PolicyException[];
  /** Merged over the inherited map. */
  readonly severityOverrides?: Readonly<Partial<Record<RuleId, Severity>>>;
}

export interface PolicyConfig {
  readonly mode: PolicyMode;
  readonly learning: LearningWindows;
  readonly protectedPaths: readonly string[];
  readonly defaultTier: Tier;
  readonly allowedFlows: readonly AllowedFlow[];
  readonly exceptions: readonly PolicyException[];
  readonly severityOverrides: Readonly<Partial<Record<RuleId, Severity>>>;
  /** Applied in order to matching workloads; later entries win. */
  readonly workloads: readonly PolicyOverride[];
}

export const DEFAULT_LEARNING: LearningWindows = Object.freeze({
  minDurationMs: 30 * 60_000,
  stableForMs: 15 * 60_000,
  maxDurationMs: 24 * 3_600_000,
});

/** The settings parseFields reads, at the top level and in each `workloads` override. */
const FIELD_KEYS = [
  'mode',
  'learning',
  'protectedPaths',
  'defaultTier',
  'allowedFlows',
  'exceptions',
  'severityOverrides',
] as const;

/** Reads `raw` (the `policy` section; undefined = all defaults) at `path`. */
export function parsePolicyConfig(raw: unknown, problems: Problems, path = 'policy'): PolicyConfig {
  const o = asObject(raw ?? {}, path, problems);
  checkKeys(o, path, problems, [...FIELD_KEYS, 'workloads']);
  const base = parseFields(o, path, problems);
  const learning = { ...DEFAULT_LEARNING, ...base.learning };
  checkWindows(learning, `${path}.learning`, problems);
  const workloads: PolicyOverride[] = [];
  const rawWorkloads = o.workloads ?? [];
  if (!Array.isArray(rawWorkloads)) problems.add(`${path}.workloads`, 'must be a list');
  else
    rawWorkloads.forEach((w, i) => {
      const p = `${path}.workloads[${i}]`;
      const wo = asObject(w, p, problems);
      checkKeys(wo, p, problems, ['match', ...FIELD_KEYS]);
      if (typeof wo.match !== 'string' || wo.match === '') problems.add(`${p}.match`, 'must be a workload key glob');
      workloads.push(Object.freeze({ match: String(wo.match ?? ''), ...parseFields(wo, p, problems) }));
    });
  return Object.freeze({
    mode: base.mode ?? 'detect',
    learning: Object.freeze(learning),
    protectedPaths: base.protectedPaths ?? DEFAULT_PROTECTED_PATHS,
    defaultTier: base.defaultTier ?? 'internal',
    allowedFlows: base.allowedFlows ?? [],
    exceptions: base.exceptions ?? [],
    severityOverrides: base.severityOverrides ?? Object.freeze({}),
    workloads: Object.freeze(workloads),
  });
}

type Fields = Omit<PolicyOverride, 'match'>;

function parseFields(o: Record<string, unknown>, path: string, problems: Problems): Fields {
  const out: { -readonly [K in keyof Fields]: Fields[K] } = {};
  if (o.mode !== undefined) {
    if (o.mode === 'learn' || o.mode === 'detect') out.mode = o.mode;
    else problems.add(`${path}.mode`, 'must be "learn" or "detect"');
  }
  if (o.learning !== undefined) {
    const l = asObject(o.learning, `${path}.learning`, problems);
    checkKeys(l, `${path}.learning`, problems, ['minDuration', 'stableFor', 'maxDuration']);
    const learning: { -readonly [K in keyof LearningWindows]?: number } = {};
    for (const [key, field] of [
      ['minDuration', 'minDurationMs'],
      ['stableFor', 'stableForMs'],
      ['maxDuration', 'maxDurationMs'],
    ] as const) {
      if (l[key] === undefined) continue;
      const ms = parseDuration(l[key]);
      if (ms === undefined) problems.add(`${path}.learning.${key}`, 'must be a duration like "30s", "15m", "24h"');
      else learning[field] = ms;
    }
    out.learning = Object.freeze(learning);
  }
  if (o.protectedPaths !== undefined)
    out.protectedPaths = stringList(
      o.protectedPaths,
      `${path}.protectedPaths`,
      problems,
      (s) => s.startsWith('/'),
      'absolute path globs',
    );
  if (o.defaultTier !== undefined) out.defaultTier = tier(o.defaultTier, `${path}.defaultTier`, problems);
  if (o.allowedFlows !== undefined) out.allowedFlows = allowedFlows(o.allowedFlows, `${path}.allowedFlows`, problems);
  if (o.exceptions !== undefined) out.exceptions = exceptions(o.exceptions, `${path}.exceptions`, problems);
  if (o.severityOverrides !== undefined) {
    const s = asObject(o.severityOverrides, `${path}.severityOverrides`, problems);
    const map: Partial<Record<RuleId, Severity>> = {};
    for (const [rule, sev] of Object.entries(s)) {
      if (!RULE_IDS.includes(rule as RuleId))
        problems.add(`${path}.severityOverrides.${rule}`, `unknown rule; rules are ${RULE_IDS.join(', ')}`);
      else if (!SEVERITIES.includes(sev as Severity))
        problems.add(`${path}.severityOverrides.${rule}`, `must be one of ${SEVERITIES.join(', ')}`);
      else map[rule as RuleId] = sev as Severity;
    }
    out.severityOverrides = Object.freeze(map);
  }
  return out;
}

function checkWindows(l: LearningWindows, path: string, problems: Problems): void {
  if (l.minDurationMs > l.maxDurationMs) problems.add(`${path}.minDuration`, 'must not exceed maxDuration');
  if (l.stableForMs > l.maxDurationMs) problems.add(`${path}.stableFor`, 'must not exceed maxDuration');
}

function allowedFlows(raw: unknown, path: string, problems: Problems): readonly AllowedFlow[] {
  if (!Array.isArray(raw)) {
    problems.add(path, 'must be a list of {from, to}');
    return [];
  }
  return Object.freeze(
    raw.map((f, i) => {
      const p = `${path}[${i}]`;
      const o = asObject(f, p, problems);
      checkKeys(o, p, problems, ['from', 'to']);
      if (typeof o.from !== 'string' || o.from === '') problems.add(`${p}.from`, 'must be a workload key glob');
      if (typeof o.to !== 'string' || o.to === '')
        problems.add(`${p}.to`, 'must be a workload key glob, CIDR, name glob or "tier:<tier>"');
      else if (o.to.startsWith('tier:') && !TIERS.includes(o.to.slice(5) as Tier))
        problems.add(`${p}.to`, `tier must be one of ${TIERS.join(', ')}`);
      return Object.freeze({ from: String(o.from ?? ''), to: String(o.to ?? '') });
    }),
  );
}

function exceptions(raw: unknown, path: string, problems: Problems): readonly PolicyException[] {
  if (!Array.isArray(raw)) {
    problems.add(path, 'must be a list of {rule, workload, key, expires, reason}');
    return [];
  }
  return Object.freeze(
    raw.map((e, i) => {
      const p = `${path}[${i}]`;
      const o = asObject(e, p, problems);
      checkKeys(o, p, problems, ['rule', 'workload', 'key', 'expires', 'reason']);
      const rule = o.rule ?? '*';
      if (rule !== '*' && !RULE_IDS.includes(rule as RuleId))
        problems.add(`${p}.rule`, `must be "*" or one of ${RULE_IDS.join(', ')}`);
      for (const f of ['workload', 'key'] as const) {
        if (o[f] !== undefined && (typeof o[f] !== 'string' || o[f] === ''))
          problems.add(`${p}.${f}`, 'must be a non-empty glob');
      }
      let expiresMs: number | undefined;
      if (o.expires !== undefined) {
        expiresMs =
          o.expires instanceof Date ? o.expires.getTime() : typeof o.expires === 'string' ? Date.parse(o.expires) : NaN;
        if (!Number.isFinite(expiresMs))
          problems.add(`${p}.expires`, 'must be an ISO 8601 timestamp, e.g. "2026-12-31T00:00:00Z"');
      }
      if (typeof o.reason !== 'string' || o.reason.trim() === '')
        problems.add(`${p}.reason`, 'is required: say why the exception exists');
      return Object.freeze({
        rule: rule as RuleId | '*',
        workload: typeof o.workload === 'string' ? o.workload : '**',
        key: typeof o.key === 'string' ? o.key : '**',
        expiresMs,
        reason: String(o.reason ?? ''),
      });
    }),
  );
}

function tier(raw: unknown, path: string, problems: Problems): Tier {
  if (TIERS.includes(raw as Tier)) return raw as Tier;
  problems.add(path, `must be one of ${TIERS.join(', ')}`);
  return 'internal';
}

function stringList(
  raw: unknown,
  path: string,
  problems: Problems,
  ok: (s: string) => boolean,
  what: string,
): readonly string[] {
  if (!Array.isArray(raw)) {
    problems.add(path, `must be a list of ${what}`);
    return [];
  }
  raw.forEach((s, i) => {
    if (typeof s !== 'string' || !ok(s)) problems.add(`${path}[${i}]`, `must be one of ${what}`);
  });
  return Object.freeze(raw.filter((s): s is string => typeof s === 'string'));
}

/** `raw` as an object, or {} after reporting the problem. Exported for sibling config parsers. */
export function asObject(raw: unknown, path: string, problems: Problems): Record<string, unknown> {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) return raw as Record<string, unknown>;
  problems.add(path, 'must be a mapping');
  return {};
}

/** Reports keys a section does not know, so a typo is an error instead of a silent default. */
export function checkKeys(
  o: Record<string, unknown>,
  path: string,
  problems: Problems,
  known: readonly string[],
): void {
  for (const k of Object.keys(o))
    if (!known.includes(k)) problems.add(`${path}.${k}`, `unknown setting; expected one of ${known.join(', ')}`);
}
