/**
 * The agent's `kubernetes` config section: how it reaches the API server and how long it
 * keeps identities of pods that are gone or not yet seen.
 */
import type { Problems } from '../../lib/config-problems.js';
import { parseDuration } from '../../lib/duration.js';

export interface KubePodResolverConfig {
  /** "in-cluster" (service-account token and CA mounted in the pod) or a kubeconfig path. */
  readonly kubeconfig: string;
  /** This node's name; pods are watched with spec.nodeName=<nodeName>. */
  readonly nodeName: string;
  /** How long a deleted pod stays resolvable (late events of short-lived pods). */
  readonly deletedPodGraceMs: number;
  /** Upper bound on lookups waiting for an unknown pod at once. */
  readonly maxWaiting: number;
  /** Upper bound on how long one lookup waits for its pod. */
  readonly maxWaitMs: number;
  readonly watchBackoff: { readonly initialMs: number; readonly maxMs: number };
}

const KEYS = ['kubeconfig', 'nodeName', 'deletedPodGrace', 'maxWaiting', 'maxWait', 'watchBackoff'];

/**
 * Reads the section at `path`. `nodeName` defaults to the NODE_NAME environment variable,
 * which the DaemonSet sets from the downward API (spec.nodeName).
 */
export function parseKubePodResolverConfig(
  raw: unknown,
  problems: Problems,
  path = 'kubernetes',
  env: NodeJS.ProcessEnv = process.env,
): KubePodResolverConfig {
  const o = section(raw, path, problems);
  for (const k of Object.keys(o))
    if (!KEYS.includes(k)) problems.add(`${path}.${k}`, `unknown setting; expected one of ${KEYS.join(', ')}`);
  const kubeconfig = o.kubeconfig ?? 'in-cluster';
  if (typeof kubeconfig !== 'string' || kubeconfig === '')
    problems.add(`${path}.kubeconfig`, 'must be "in-cluster" or a kubeconfig file path');
  const nodeName = o.nodeName ?? env.NODE_NAME;
  if (typeof nodeName !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) {
    problems.add(
      `${path}.nodeName`,
      'must be the node name (set it, or NODE_NAME from the downward API spec.nodeName)',
    );
  }
  const backoff = section(o.watchBackoff ?? {}, `${path}.watchBackoff`, problems);
  for (const k of Object.keys(backoff))
    if (!['initial', 'max'].includes(k))
      problems.add(`${path}.watchBackoff.${k}`, 'unknown setting; expected one of initial, max');
  const initialMs = duration(backoff.initial, 500, `${path}.watchBackoff.initial`, problems);
  const maxMs = duration(backoff.max, 30_000, `${path}.watchBackoff.max`, problems);
  if (initialMs > maxMs) problems.add(`${path}.watchBackoff.initial`, 'must not exceed max');
  const maxWaiting = o.maxWaiting ?? 1024;
  if (!Number.isInteger(maxWaiting) || (maxWaiting as number) < 0)
    problems.add(`${path}.maxWaiting`, 'must be a non-negative integer');
  return Object.freeze({
    kubeconfig: String(kubeconfig),
    nodeName: String(nodeName ?? ''),
    deletedPodGraceMs: duration(o.deletedPodGrace, 120_000, `${path}.deletedPodGrace`, problems),
    maxWaiting: Number(maxWaiting),
    maxWaitMs: duration(o.maxWait, 5_000, `${path}.maxWait`, problems),
    watchBackoff: Object.freeze({ initialMs, maxMs }),
  });
}

function section(raw: unknown, path: string, problems: Problems): Record<string, unknown> {
  if (raw === undefined) return {};
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) return raw as Record<string, unknown>;
  problems.add(path, 'must be a mapping');
  return {};
}

function duration(raw: unknown, fallback: number, path: string, problems: Problems): number {
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) problems.add(path, 'must be a duration like "500ms", "30s", "2m"');
  return ms ?? fallback;
}
