import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../lib/logger.js';
import { createTokenReviewAuthenticator } from '../../../collector/kube/token-review-authenticator.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { batchOf, connectAgent, startIngest, type AgentStream, type RunningIngest } from '../ingest/ingest-harness.js';

const AGENT = 'system:serviceaccount:tripline:tripline-agent';

describe('gRPC ingest authenticating agents by TokenReview against the fake API server', () => {
  let api: FakeKubeApi;
  let run: RunningIngest | undefined;
  const streams: AgentStream[] = [];

  beforeEach(async () => {
    api = await startFakeKubeApi();
    api.addToken('projected-agent-token', { username: AGENT, audiences: ['tripline'] });
    api.addToken('stolen-app-token', { username: 'system:serviceaccount:shop:default', audiences: ['tripline'] });
    api.addToken('api-audience-token', { username: AGENT, audiences: ['https://kubernetes.default.svc'] });
    const authenticator = createTokenReviewAuthenticator({
      kubeConfig: api.kubeConfig(),
      agentServiceAccounts: [AGENT],
      audience: 'tripline',
      cacheTtlMs: 60_000,
      negativeCacheTtlMs: 5_000,
      cacheMax: 100,
      log: silentLogger(),
      registry: new Registry(),
    });
    run = await startIngest({}, { authenticator });
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await run?.server.stop(0);
    run = undefined;
    await api.close();
  });

  it('streams from an agent whose projected token the API server vouches for (fake API server)', async () => {
    const a = connectAgent(run!.port, { token: 'projected-agent-token' });
    streams.push(a);
    a.send(batchOf(1, 3));
    const acks = await a.acked(1);
    expect(acks[0]).toMatchObject({ batchId: 1, accepted: 3 });
    expect(run!.intake.applied[0]?.source.identity).toBe(AGENT);
  });

  it.each([
    ['a valid token of another service account', 'stolen-app-token', status.PERMISSION_DENIED],
    ['the agent token minted for another audience', 'api-audience-token', status.UNAUTHENTICATED],
    ['an unknown token', 'garbage', status.UNAUTHENTICATED],
  ])('refuses %s (fake API server)', async (_name, token, code) => {
    const a = connectAgent(run!.port, { token });
    streams.push(a);
    a.send(batchOf(1, 1));
    expect((await a.status).code).toBe(code);
    expect(run!.intake.applied).toHaveLength(0);
  });

  it('answers UNAVAILABLE while the API server is down, so agents retry (fake API server)', async () => {
    api.setUnavailable(true);
    const a = connectAgent(run!.port, { token: 'projected-agent-token' });
    streams.push(a);
    expect((await a.status).code).toBe(status.UNAVAILABLE);
  });
});
