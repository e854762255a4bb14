import { describe, expect, it } from 'vitest';
import { Problems } from '../../../../lib/config-problems.js';
import { parsePolicyConfig } from '../../../../collector/policy/policy-config.js';
import { createStaticPolicySource } from '../../../../collector/policy/static-policy-source.js';
import { DEFAULT_PROTECTED_PATHS } from '../../../../collector/policy/policy.js';
import { API } from '../detect/events.js';

describe('parsePolicyConfig', () => {
  it('gives a frozen config with defaults when the section is absent', () => {
    const problems = new Problems();
    const c = parsePolicyConfig(undefined, problems);
    expect(problems.all).toEqual([]);
    expect(c.mode).toBe('detect');
    expect(c.protectedPaths).toBe(DEFAULT_PROTECTED_PATHS);
    expect(c.defaultTier).toBe('internal');
    expect(c.learning.minDurationMs).toBeGreaterThan(0);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('accepts learning windows down to seconds', () => {
    const problems = new Problems();
    const c = parsePolicyConfig({ learning: { minDuration: '2s', stableFor: '1s', maxDuration: '10s' } }, problems);
    expect(problems.all).toEqual([]);
    expect(c.learning).toEqual({ minDurationMs: 2000, stableForMs: 1000, maxDurationMs: 10_000 });
  });

  it('reports every problem with its path', () => {
    const problems = new Problems();
    parsePolicyConfig(
      {
        mode: 'block',
        learning: { minDuration: 'soon', maxDuration: '1s', stableFor: '5s' },
        defaultTier: 'secret',
        protectedPaths: ['etc/**'],
        allowedFlows: [{ from: 'x/**', to: 'tier:galactic' }],
        exceptions: [{ rule: 'no-such-rule', key: '/x', expires: 'tomorrow' }],
        severityOverrides: { 'unexpected-exec': 'urgent', bogus: 'low' },
        workloads: [{ mode: 'learn', colour: 'red' }],
        typo: 1,
      },
      problems,
    );
    const paths = problems.all.map((p) => p.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'policy.mode',
        'policy.learning.minDuration',
        'policy.learning.stableFor',
        'policy.defaultTier',
        'policy.protectedPaths[0]',
        'policy.allowedFlows[0].to',
        'policy.exceptions[0].rule',
        'policy.exceptions[0].expires',
        'policy.exceptions[0].reason',
        'policy.severityOverrides.unexpected-exec',
        'policy.severityOverrides.bogus',
        'policy.workloads[0].match',
        'policy.workloads[0].colour',
        'policy.typo',
      ]),
    );
  });
});

describe('createStaticPolicySource', () => {
  const raw = {
    mode: 'detect',
    defaultTier: 'internal',
    allowedFlows: [{ from: '**', to: 'tier:internal' }],
    exceptions: [
      {
        rule: 'unexpected-exec',
        workload: '**',
        key: '/usr/bin/env',
        reason: 'entrypoint wrapper',
        expires: '2030-01-01T00:00:00Z',
      },
    ],
    severityOverrides: { 'unexpected-syscall': 'low' },
    workloads: [
      {
        match: 'prod/payments/**',
        defaultTier: 'restricted',
        learning: { stableFor: '30s' },
        allowedFlows: [{ from: 'prod/payments/**', to: '10.0.0.0/8' }],
      },
      {
        match: 'prod/payments/Deployment/api/*',
        mode: 'learn',
        protectedPaths: ['/srv/**'],
        severityOverrides: { 'new-listener': 'critical' },
      },
      { match: 'staging/**', mode: 'learn' },
    ],
  };

  it('applies every matching override in order: scalars replace, lists append, maps merge', () => {
    const problems = new Problems();
    const src = createStaticPolicySource(parsePolicyConfig(raw, problems));
    expect(problems.all).toEqual([]);
    const p = src.policyFor(API);
    expect(p.mode).toBe('learn');
    expect(p.defaultTier).toBe('restricted');
    expect(p.learning.stableForMs).toBe(30_000);
    expect(p.protectedPaths).toEqual(['/srv/**']);
    expect(p.allowedFlows.map((f) => f.to)).toEqual(['tier:internal', '10.0.0.0/8']);
    expect(p.exceptions[0]!.expiresMs).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(p.severityOverrides).toEqual({ 'unexpected-syscall': 'low', 'new-listener': 'critical' });
    const other = src.policyFor({ ...API, namespace: 'web' });
    expect(other.mode).toBe('detect');
    expect(other.protectedPaths).toEqual(DEFAULT_PROTECTED_PATHS);
  });

  it('notifies listeners and serves the new config after update', () => {
    const src = createStaticPolicySource(parsePolicyConfig(raw, new Problems()));
    expect(src.policyFor(API).mode).toBe('learn');
    let calls = 0;
    src.onChange(() => calls++);
    src.update(parsePolicyConfig({ mode: 'detect' }, new Problems()));
    expect(calls).toBe(1);
    expect(src.policyFor(API).mode).toBe('detect');
  });
});
