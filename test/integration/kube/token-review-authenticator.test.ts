import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createTokenReviewAuthenticator } from '../../../collector/kube/token-review-authenticator.js';
import type { AgentAuthenticator } from '../../../collector/ingest/agent-authenticator.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';

const AGENT = 'system:serviceaccount:tripline:tripline-agent';

describe('TokenReview agent authenticator against the fake API server', () => {
  let api: FakeKubeApi;
  let registry: Registry;
  let logged: string;
  let clock: number;

  beforeEach(async () => {
    api = await startFakeKubeApi();
    registry = new Registry();
    logged = '';
    clock = 1_000_000;
    api.addToken('agent-token-1', { username: AGENT, audiences: ['tripline'] });
    api.addToken('app-token', { username: 'system:serviceaccount:shop:default', audiences: ['tripline'] });
    api.addToken('wrong-audience', { username: AGENT, audiences: ['https://kubernetes.default.svc'] });
  });
  afterEach(async () => {
    await api.close();
  });

  function auth(): AgentAuthenticator {
    const sink = new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) });
    return createTokenReviewAuthenticator({
      kubeConfig: api.kubeConfig(),
      agentServiceAccounts: [AGENT],
      audience: 'tripline',
      cacheTtlMs: 60_000,
      negativeCacheTtlMs: 5_000,
      cacheMax: 2,
      timeoutMs: 2_000,
      log: pino({ level: 'debug' }, sink),
      registry,
      now: () => clock,
    });
  }

  it('accepts the agent service account and rejects others (fake API server)', async () => {
    const a = auth();
    expect(await a.authenticate('agent-token-1')).toEqual({ ok: true, identity: AGENT });
    expect(await a.authenticate('app-token')).toEqual({ ok: false, reason: 'forbidden' });
    expect(await a.authenticate('wrong-audience')).toEqual({ ok: false, reason: 'invalid' });
    expect(await a.authenticate('garbage')).toEqual({ ok: false, reason: 'invalid' });
    expect(await a.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(await a.authenticate('')).toEqual({ ok: false, reason: 'missing' });
    const reviews = api.requests.filter((r) => r.path.endsWith('/tokenreviews'));
    expect(reviews).toHaveLength(4);
  });

  it('caches verdicts by token hash for the TTL and never logs or labels the token (fake API server)', async () => {
    const a = auth();
    await Promise.all([
      a.authenticate('agent-token-1'),
      a.authenticate('agent-token-1'),
      a.authenticate('agent-token-1'),
    ]);
    expect(api.requests.filter((r) => r.path.endsWith('/tokenreviews'))).toHaveLength(1);
    clock += 59_000;
    await a.authenticate('agent-token-1');
    expect(api.requests.filter((r) => r.path.endsWith('/tokenreviews'))).toHaveLength(1);
    clock += 2_000;
    await a.authenticate('agent-token-1');
    expect(api.requests.filter((r) => r.path.endsWith('/tokenreviews'))).toHaveLength(2);
    await a.authenticate('app-token');
    const metrics = await registry.metrics();
    expect(metrics).toContain('tripline_collector_kube_token_cache_hits_total 1');
    expect(metrics).not.toContain('agent-token-1');
    expect(logged).toContain('not an agent');
    expect(logged).not.toContain('app-token');
  });

  it("answers 'unavailable' when the API server is down or unreachable, without caching it (fake API server)", async () => {
    const a = auth();
    api.setUnavailable(true);
    expect(await a.authenticate('agent-token-1')).toEqual({ ok: false, reason: 'unavailable' });
    api.setUnavailable(false);
    expect(await a.authenticate('agent-token-1')).toEqual({ ok: true, identity: AGENT });
    await api.close();
    expect(await a.authenticate('another-token')).toEqual({ ok: false, reason: 'unavailable' });
    expect(logged).not.toContain('another-token');
    api = await startFakeKubeApi();
  });
});
