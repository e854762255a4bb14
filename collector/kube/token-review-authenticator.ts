/**
 * AgentAuthenticator for a cluster: agents present their projected service-account
 * token (audience "tripline"), the collector asks the API server (TokenReview) whether it
 * is valid for that audience and whose it is, and accepts only the agents' accounts.
 *
 * Verdicts are cached by a SHA-256 of the token for a short TTL, because every agent
 * stream authenticates and the API server should not see one review per reconnect storm.
 * The token itself is never stored, logged or used as a label.
 */
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig, type V1TokenReview } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentAuthenticator, AgentAuthResult } from '../ingest/agent-authenticator.js';
import { counter } from '../../lib/kube/resilient-informer.js';

export interface TokenReviewAuthenticatorOptions {
  readonly kubeConfig: KubeConfig;
  /** Full usernames, "system:serviceaccount:<ns>:<name>". */
  readonly agentServiceAccounts: readonly string[];
  readonly audience: string;
  readonly cacheTtlMs: number;
  readonly negativeCacheTtlMs: number;
  readonly cacheMax: number;
  /** Upper bound on one TokenReview round trip. */
  readonly timeoutMs?: number;
  readonly log: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
}

interface Cached {
  readonly result: AgentAuthResult;
  readonly expiresAt: number;
}

export function createTokenReviewAuthenticator(opts: TokenReviewAuthenticatorOptions): AgentAuthenticator {
  const log = opts.log.child({ component: 'token-review-authenticator' });
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const api = opts.kubeConfig.makeApiClient(AuthenticationV1Api);
  const allowed = new Set(opts.agentServiceAccounts);
  const reviews = counter(
    opts.registry,
    'tripline_collector_kube_token_reviews_total',
    'TokenReviews sent to the API server, by verdict.',
    ['result'],
  );
  const hits = counter(
    opts.registry,
    'tripline_collector_kube_token_cache_hits_total',
    'Agent authentications answered from the verdict cache.',
    [],
  );
  const cache = new Map<string, Cached>();
  const inflight = new Map<string, Promise<AgentAuthResult>>();

  async function review(token: string): Promise<AgentAuthResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const body: V1TokenReview = {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: [opts.audience] },
      };
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`TokenReview timed out after ${timeoutMs}ms`)), timeoutMs);
      });
      const res = await Promise.race([api.createTokenReview({ body }), timeout]);
      const status = res.status;
      if (!status?.authenticated || !status.user?.username) return { ok: false, reason: 'invalid' };
      // An API server that ignores audiences would accept a token minted for anything.
      if (!(status.audiences ?? []).includes(opts.audience)) return { ok: false, reason: 'invalid' };
      if (!allowed.has(status.user.username)) {
        log.warn(
          { identity: status.user.username },
          'a valid service-account token that is not an agent tried to stream',
        );
        return { ok: false, reason: 'forbidden' };
      }
      return { ok: true, identity: status.user.username };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      log.warn(
        { status: typeof code === 'number' ? code : undefined, error: (err as Error).message },
        'TokenReview failed; agent authentication unavailable',
      );
      return { ok: false, reason: 'unavailable' };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async authenticate(bearerToken) {
      if (!bearerToken) return { ok: false, reason: 'missing' };
      const key = createHash('sha256').update(bearerToken).digest('hex');
      const cached = cache.get(key);
      if (cached && cached.expiresAt > now()) {
        hits.inc();
        return cached.result;
      }
      if (cached) cache.delete(key);
      let pending = inflight.get(key);
      if (!pending) {
        pending = review(bearerToken).then((result) => {
          inflight.delete(key);
          reviews.inc({ result: result.ok ? 'ok' : result.reason });
          // An outage must not be remembered: the next attempt asks again.
          if (result.ok || result.reason !== 'unavailable') {
            if (cache.size >= opts.cacheMax) cache.delete(cache.keys().next().value!);
            cache.set(key, { result, expiresAt: now() + (result.ok ? opts.cacheTtlMs : opts.negativeCacheTtlMs) });
          }
          return result;
        });
        inflight.set(key, pending);
      }
      return pending;
    },
  };
}
