/**
 * The collector's `kubernetes` config section: API access, who counts as an agent, and
 * how baselines and policies are kept in the API server.
 */
import type { Problems } from '../../lib/config-problems.js';
import { parseDuration } from '../../lib/duration.js';
import { asObject, checkKeys } from '../policy/policy-config.js';

export interface KubeCollectorConfig {
  /** "in-cluster" (the pod's service-account credentials) or a kubeconfig file path. */
  readonly kubeconfig: string;
  /** Cluster name in workload keys; must equal the agents' `agent.cluster`. */
  readonly cluster: string;
  /** The collector's namespace: home of the cluster-default RuntimePolicy `default` and of host workloads' baselines. */
  readonly namespace: string;
  /** Service accounts whose tokens identify agents, as "system:serviceaccount:<ns>:<name>". */
  readonly agentServiceAccounts: readonly string[];
  /** Audience agent tokens must be issued for (the DaemonSet's projected token). */
  readonly tokenAudience: string;
  /** How long an accepted token is trusted without asking the API server again. */
  readonly tokenCacheTtlMs: number;
  /** How long a rejected token stays rejected without asking again. */
  readonly tokenNegativeCacheTtlMs: number;
  /** Upper bound on cached token verdicts. */
  readonly tokenCacheMax: number;
  /** Parallel RuntimeBaseline writes per save. */
  readonly baselineWriteConcurrency: number;
  readonly watchBackoff: { readonly initialMs: number; readonly maxMs: number };
}

const KEYS = [
  'kubeconfig',
  'cluster',
  'namespace',
  'agentServiceAccounts',
  'tokenAudience',
  'tokenCacheTtl',
  'tokenNegativeCacheTtl',
  'tokenCacheMax',
  'baselineWriteConcurrency',
  'watchBackoff',
];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Reads the section at `path`. `namespace` defaults to POD_NAMESPACE (downward API), then
 * "tripline"; `agentServiceAccounts` to the `tripline-agent` account in that namespace.
 */
export function parseKubeCollectorConfig(
  raw: unknown,
  problems: Problems,
  path = 'kubernetes',
  env: NodeJS.ProcessEnv = process.env,
): KubeCollectorConfig {
  const o = asObject(raw ?? {}, path, problems);
  checkKeys(o, path, problems, KEYS);
  const kubeconfig = o.kubeconfig ?? 'in-cluster';
  if (typeof kubeconfig !== 'string' || kubeconfig === '')
    problems.add(`${path}.kubeconfig`, 'must be "in-cluster" or a kubeconfig file path');
  const cluster = o.cluster ?? 'default';
  if (typeof cluster !== 'string' || !DNS_LABEL.test(cluster))
    problems.add(`${path}.cluster`, "must be a lowercase DNS label (the agents' agent.cluster)");
  const namespace = o.namespace ?? env.POD_NAMESPACE ?? 'tripline';
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))
    problems.add(`${path}.namespace`, 'must be a namespace name');
  const ns = String(namespace);
  let accounts: string[] = [`system:serviceaccount:${ns}:tripline-agent`];
  if (o.agentServiceAccounts !== undefined) {
    if (!Array.isArray(o.agentServiceAccounts) || o.agentServiceAccounts.length === 0)
      problems.add(
        `${path}.agentServiceAccounts`,
        'must be a non-empty list of "<namespace>:<name>" or "system:serviceaccount:<namespace>:<name>"',
      );
    else {
      accounts = [];
      o.agentServiceAccounts.forEach((a, i) => {
        const full = typeof a === 'string' && !a.startsWith('system:') ? `system:serviceaccount:${a}` : a;
        const parts = typeof full === 'string' ? full.split(':') : [];
        if (
          parts.length !== 4 ||
          parts[0] !== 'system' ||
          parts[1] !== 'serviceaccount' ||
          !DNS_LABEL.test(parts[2]!) ||
          !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(parts[3]!)
        ) {
          problems.add(
            `${path}.agentServiceAccounts[${i}]`,
            'must be "<namespace>:<name>" or "system:serviceaccount:<namespace>:<name>"',
          );
        } else accounts.push(full as string);
      });
    }
  }
  const audience = o.tokenAudience ?? 'tripline';
  if (typeof audience !== 'string' || audience === '')
    problems.add(`${path}.tokenAudience`, 'must be a non-empty string');
  const backoff = asObject(o.watchBackoff ?? {}, `${path}.watchBackoff`, problems);
  checkKeys(backoff, `${path}.watchBackoff`, problems, ['initial', 'max']);
  const initialMs = duration(backoff.initial, 500, `${path}.watchBackoff.initial`, problems);
  const maxMs = duration(backoff.max, 30_000, `${path}.watchBackoff.max`, problems);
  if (initialMs > maxMs) problems.add(`${path}.watchBackoff.initial`, 'must not exceed max');
  return Object.freeze({
    kubeconfig: String(kubeconfig),
    cluster: String(cluster),
    namespace: ns,
    agentServiceAccounts: Object.freeze(accounts),
    tokenAudience: String(audience),
    tokenCacheTtlMs: duration(o.tokenCacheTtl, 60_000, `${path}.tokenCacheTtl`, problems),
    tokenNegativeCacheTtlMs: duration(o.tokenNegativeCacheTtl, 5_000, `${path}.tokenNegativeCacheTtl`, problems),
    tokenCacheMax: positiveInt(o.tokenCacheMax, 10_000, `${path}.tokenCacheMax`, problems),
    baselineWriteConcurrency: positiveInt(o.baselineWriteConcurrency, 4, `${path}.baselineWriteConcurrency`, problems),
    watchBackoff: Object.freeze({ initialMs, maxMs }),
  });
}

function duration(raw: unknown, fallback: number, path: string, problems: Problems): number {
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) problems.add(path, 'must be a duration like "500ms", "30s", "5m"');
  return ms ?? fallback;
}

function positiveInt(raw: unknown, fallback: number, path: string, problems: Problems): number {
  if (raw === undefined) return fallback;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > 0) return raw;
  problems.add(path, 'must be a positive integer');
  return fallback;
}
