import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import type { WorkloadRef } from '../../../proto/events.js';
import { parsePolicyConfig } from '../../../collector/policy/policy-config.js';
import { createStaticPolicySource } from '../../../collector/policy/static-policy-source.js';
import { createKubePolicySource, type KubePolicySource } from '../../../collector/kube/kube-policy-source.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';

const GV = 'tripline.io/v1alpha1';
const api1: WorkloadRef = { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'api', container: 'app' };
const other: WorkloadRef = { ...api1, namespace: 'blog' };

function policy(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: GV, kind: 'RuntimePolicy', metadata: { name, namespace }, spec };
}

describe('RuntimePolicy source against the fake API server', () => {
  let api: FakeKubeApi;
  let source: KubePolicySource | undefined;

  beforeEach(async () => {
    api = await startFakeKubeApi();
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api.close();
  });

  async function start(): Promise<KubePolicySource> {
    const problems = new Problems();
    const base = createStaticPolicySource(
      parsePolicyConfig(
        {
          mode: 'detect',
          defaultTier: 'internal',
          exceptions: [{ rule: 'unexpected-syscall', key: 'ptrace', reason: 'debuggers' }],
        },
        problems,
      ),
    );
    problems.throwIfAny();
    source = createKubePolicySource({
      kubeConfig: api.kubeConfig(),
      namespace: 'tripline',
      base,
      watchBackoff: { initialMs: 20, maxMs: 100 },
      log: silentLogger(),
      registry: new Registry(),
    });
    await source.start(5000);
    return source;
  }

  it('layers the cluster default and selector-matched namespace policies over the config (fake API server)', async () => {
    api.put(
      policy('tripline', 'default', {
        defaultSensitivity: 'confidential',
        learning: { minDuration: '1h' },
        severityOverrides: { 'unexpected-egress': 'high' },
      }),
    );
    api.put(
      policy('shop', 'api-only', {
        selector: {
          matchLabels: { app: 'api' },
          matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }],
        },
        mode: 'learn',
        protectedPaths: ['/srv/**'],
        exceptions: [
          { rule: 'unexpected-exec', key: '/usr/bin/git', expires: '2030-01-01T00:00:00Z', reason: 'deploy hook' },
        ],
        allowedFlows: [{ from: 'prod/shop/**', to: 'tier:public' }],
      }),
    );
    const s = await start();
    const p = s.policyFor(api1, { app: 'api' });
    expect(p.mode).toBe('learn');
    expect(p.defaultTier).toBe('confidential');
    expect(p.learning.minDurationMs).toBe(3_600_000);
    expect(p.protectedPaths).toEqual(['/srv/**']);
    expect(p.severityOverrides['unexpected-egress']).toBe('high');
    expect(p.exceptions.map((e) => e.key)).toEqual(['ptrace', '/usr/bin/git']);
    expect(p.exceptions[1]?.expiresMs).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(p.allowedFlows).toEqual([{ from: 'prod/shop/**', to: 'tier:public' }]);
    // Not selected: other labels, a canary, unknown labels, another namespace.
    expect(s.policyFor(api1, { app: 'web' }).mode).toBe('detect');
    expect(s.policyFor(api1, { app: 'api', track: 'canary' }).mode).toBe('detect');
    expect(s.policyFor(api1, undefined).mode).toBe('detect');
    expect(s.policyFor(other, { app: 'api' })).toMatchObject({ mode: 'detect', defaultTier: 'confidential' });
  });

  it('applies a RuntimePolicy change live and notifies listeners (fake API server)', async () => {
    const s = await start();
    let changes = 0;
    s.onChange(() => changes++);
    expect(s.policyFor(api1, { app: 'api' }).mode).toBe('detect');
    api.put(policy('shop', 'quiet', { mode: 'learn' }));
    await waitFor(() => s.policyFor(api1, { app: 'api' }).mode === 'learn', { what: 'policy applied' });
    expect(changes).toBeGreaterThan(0);
    const before = changes;
    api.patch(GV, 'RuntimePolicy', 'shop', 'quiet', { spec: { mode: 'detect', defaultSensitivity: 'restricted' } });
    await waitFor(() => s.policyFor(api1, { app: 'api' }).defaultTier === 'restricted', { what: 'edit applied' });
    expect(changes).toBeGreaterThan(before);
    api.remove(GV, 'RuntimePolicy', 'shop', 'quiet');
    await waitFor(() => s.policyFor(api1, { app: 'api' }).defaultTier === 'internal', { what: 'delete applied' });
  });

  it('rejects an invalid RuntimePolicy with every problem in its status and keeps the previous layers (fake API server)', async () => {
    const s = await start();
    api.put(
      policy('shop', 'broken', {
        mode: 'enforce',
        defaultSensitivity: 'secret',
        severityOverrides: { 'no-such-rule': 'high' },
        selector: { matchExpressions: [{ key: 'a', operator: 'Near' }] },
      }),
    );
    const status = await waitFor(
      () =>
        api.get(GV, 'RuntimePolicy', 'shop', 'broken')?.['status'] as
          { accepted: boolean; problems: string[] } | undefined,
      { what: 'status written' },
    );
    expect(status.accepted).toBe(false);
    expect(status.problems.join('\n')).toMatch(/spec\.mode/);
    expect(status.problems.join('\n')).toMatch(/spec\.defaultSensitivity/);
    expect(status.problems.join('\n')).toMatch(/no-such-rule/);
    expect(status.problems.join('\n')).toMatch(/matchExpressions\[0\]\.operator/);
    expect(s.policyFor(api1, { app: 'api' }).mode).toBe('detect');
    api.patch(GV, 'RuntimePolicy', 'shop', 'broken', {
      spec: { mode: 'learn', defaultSensitivity: null, severityOverrides: null, selector: null },
    });
    await waitFor(
      () =>
        (api.get(GV, 'RuntimePolicy', 'shop', 'broken')?.['status'] as { accepted?: boolean } | undefined)?.accepted ===
        true,
      { what: 'accepted after fix' },
    );
    expect(s.policyFor(api1, { app: 'api' }).mode).toBe('learn');
  });
});
