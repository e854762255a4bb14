/**
 * The collector's Kubernetes integration in one piece, so main.ts wires one thing: the
 * peer directory takes its default tiers from the RuntimePolicy source (not from the
 * config alone), and everything shares one API client configuration.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentAuthenticator } from '../ingest/agent-authenticator.js';
import type { PolicySource } from '../policy/policy.js';
import type { ProfileStore } from '../profiles/profile-store.js';
import type { KubeCollectorConfig } from './kube-collector-config.js';
import { createKubePeerDirectory, type KubePeerDirectory } from './kube-peer-directory.js';
import { createKubePolicySource, type KubePolicySource } from './kube-policy-source.js';
import { createKubeProfileStore } from './kube-profile-store.js';
import { createTokenReviewAuthenticator } from './token-review-authenticator.js';

export interface KubeCollectorIntegration {
  /** Pod and service IPs → workloads and tiers, for the enricher. */
  readonly peers: KubePeerDirectory;
  /** Config policy with RuntimePolicies layered over it, for the analyzer and the enricher. */
  readonly policies: KubePolicySource;
  /** RuntimeBaselines, for the profile stage. */
  readonly profiles: ProfileStore;
  /** TokenReview of agents' projected tokens, for ingest. */
  readonly authenticator: AgentAuthenticator;
  /** Lists and starts watching policies, then pods, services and namespaces; rejects if a first list fails within `timeoutMs`. */
  start(timeoutMs?: number): Promise<void>;
  /** Stops every watch; safe to call twice. */
  stop(): Promise<void>;
}

export interface KubeCollectorIntegrationOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: KubeCollectorConfig;
  /** The config file's policy (createStaticPolicySource). */
  readonly basePolicy: PolicySource;
  readonly log: Logger;
  readonly registry: Registry;
}

export function createKubeCollectorIntegration(opts: KubeCollectorIntegrationOptions): KubeCollectorIntegration {
  const { config, kubeConfig, log, registry } = opts;
  const policies = createKubePolicySource({
    kubeConfig,
    namespace: config.namespace,
    base: opts.basePolicy,
    watchBackoff: config.watchBackoff,
    log,
    registry,
  });
  const peers = createKubePeerDirectory({
    kubeConfig,
    cluster: config.cluster,
    policies,
    watchBackoff: config.watchBackoff,
    log,
    registry,
  });
  const profiles = createKubeProfileStore({
    kubeConfig,
    collectorNamespace: config.namespace,
    writeConcurrency: config.baselineWriteConcurrency,
    watchBackoff: config.watchBackoff,
    log,
    registry,
  });
  const authenticator = createTokenReviewAuthenticator({
    kubeConfig,
    agentServiceAccounts: config.agentServiceAccounts,
    audience: config.tokenAudience,
    cacheTtlMs: config.tokenCacheTtlMs,
    negativeCacheTtlMs: config.tokenNegativeCacheTtlMs,
    cacheMax: config.tokenCacheMax,
    log,
    registry,
  });
  return {
    peers,
    policies,
    profiles,
    authenticator,
    async start(timeoutMs) {
      // Policies first: the directory's tiers and the first profiles depend on them.
      await policies.start(timeoutMs);
      await peers.start(timeoutMs);
    },
    async stop() {
      await Promise.all([peers.stop(), policies.stop(), profiles.close()]);
    },
  };
}
