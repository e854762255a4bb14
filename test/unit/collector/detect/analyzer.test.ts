/** The analyzer's lifecycle: learning, persistence, drops, rollouts, poisoning resistance, tuning and metrics. */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuleRegistry } from '../../../../collector/detect/rule-registry.js';
import { createDefaultRules } from '../../../../collector/detect/default-rules.js';
import type { Rule } from '../../../../collector/detect/rule.js';
import type { AgentReport } from '../../../../proto/report.js';
import { createAnalyzer } from '../../../../collector/analysis/create-analyzer.js';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../../lib/logger.js';
import { API, API_KEY, connect, exec, file, listen, syscalls } from './events.js';
import { parsePolicyConfig } from '../../../../collector/policy/policy-config.js';
import { Problems } from '../../../../lib/config-problems.js';
import type { ProfileSnapshot } from '../../../../proto/profile.js';
import { FAST_LEARNING, harness, memoryStore, SOURCE, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.analyzer.stop();
  h = undefined;
});

async function make(opts: Parameters<typeof harness>[0] = {}): Promise<Harness> {
  h = await harness(opts);
  return h;
}

function report(drops: number): AgentReport {
  return {
    node: 'node-a',
    agentRunId: 'run-1',
    intervalStartNs: 0,
    intervalEndNs: 1,
    containers: [
      {
        cgroupId: 4242,
        workload: API,
        counts: [],
        drops: drops ? [{ kind: 'exec', reason: 'ringbuf_full', count: drops }] : [],
      },
    ],
    unattributedDrops: [],
    sensor: 'ebpf',
    blindSpots: [],
  };
}

async function metric(x: Harness, name: string): Promise<{ labels: Record<string, unknown>; value: number }[]> {
  const m = x.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  return (await m.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

describe('learning through events and flushes', () => {
  it('becomes stable on a flush after the windows pass without traffic', async () => {
    const x = await make();
    await x.apply(exec('/bin/sh'));
    x.now.ms += 9_000;
    await x.analyzer.flush();
    expect(x.analyzer.getProfile(API_KEY)!.state).toBe('learning');
    x.now.ms += 2_000;
    await x.analyzer.flush();
    const p = x.analyzer.getProfile(API_KEY)!;
    expect(p.state).toBe('stable');
    expect(x.store.data.get(API_KEY)!.state).toBe('stable');
  });

  it('keeps learning while novel items keep coming, then ends at maxDuration', async () => {
    const x = await make();
    for (let t = 0; t < 60; t += 2) {
      // Distinct word-like names, so generalisation keeps every one novel.
      await x.apply(
        file(`/var/data/d${String.fromCharCode(97 + ((t / 2) % 26))}${String.fromCharCode(97 + Math.floor(t / 52))}/x`),
      );
      x.now.ms += 2_000;
    }
    expect(x.analyzer.getProfile(API_KEY)!.state).toBe('learning');
    await x.analyzer.flush();
    const p = x.analyzer.getProfile(API_KEY)!;
    expect(p.state).toBe('stable');
    expect(p.stableSinceMs - p.learningStartedMs).toBeGreaterThanOrEqual(60_000);
  });
});

describe('persistence', () => {
  it('saves only profiles whose revision changed, and counts-only changes after statsPersistEvery', async () => {
    const x = await make({ analysis: { statsPersistEvery: '60s' } });
    await x.apply(exec('/bin/sh'), exec('/bin/sh', { workload: { ...API, name: 'web' }, cgroupId: 77 }));
    await x.analyzer.flush();
    expect(
      x.store.saved
        .at(-1)!
        .map((p) => p.key)
        .sort(),
    ).toEqual([API_KEY, 'prod/payments/Deployment/web/api']);
    const saves = x.store.saved.length;
    await x.analyzer.flush();
    expect(x.store.saved.length).toBe(saves);
    await x.apply(exec('/bin/sh'));
    await x.analyzer.flush();
    expect(x.store.saved.length).toBe(saves);
    x.now.ms += 61_000;
    await x.analyzer.flush();
    // The learning window also ended for both profiles, so both changed.
    expect(x.store.saved.at(-1)!.find((p) => p.key === API_KEY)!.items[0]!.count).toBe(2);
  });

  it('loads stored profiles at start and detects with them immediately', async () => {
    const first = await make();
    await first.learn(exec('/bin/sh'));
    await first.apply(exec('/bin/sh'));
    await first.analyzer.stop();
    const store = memoryStore([...first.store.data.values()]);
    h = undefined;
    const second = await make({ store });
    expect(second.analyzer.getProfile(API_KEY)!.state).toBe('stable');
    await second.apply(exec('/bin/sh'), exec('/usr/bin/nc'));
    expect(second.findings.map((f) => f.key)).toEqual(['/usr/bin/nc']);
  });

  it('retries a failed save at the next flush and counts the failure', async () => {
    const x = await make();
    await x.apply(exec('/bin/sh'));
    x.store.failNext = 1;
    await x.analyzer.flush();
    expect(x.store.data.has(API_KEY)).toBe(false);
    await x.analyzer.flush();
    expect(x.store.data.has(API_KEY)).toBe(true);
    expect((await metric(x, 'tripline_collector_profile_persist_failures_total'))[0]!.value).toBe(1);
  });
});

describe('drops during learning', () => {
  it('marks the profile partial and keeps it learning past maxDuration until a clean window', async () => {
    const x = await make();
    await x.apply(exec('/bin/sh'));
    x.analyzer.applyReport(report(12), SOURCE);
    expect(x.analyzer.getProfile(API_KEY)!.partial).toBe(true);
    for (let i = 0; i < 14; i++) {
      x.now.ms += 4_500;
      x.analyzer.applyReport(report(3), SOURCE);
      await x.analyzer.flush();
    }
    expect(x.analyzer.getProfile(API_KEY)!.state).toBe('learning');
    x.analyzer.applyReport(report(0), SOURCE);
    x.now.ms += 5_000;
    await x.analyzer.flush();
    const p = x.analyzer.getProfile(API_KEY)!;
    expect(p.state).toBe('stable');
    expect(p.partial).toBe(false);
  });
});

describe('image updates', () => {
  it('learns new items of a new digest for review and reports them at reduced severity', async () => {
    const x = await make();
    await x.learn(exec('/usr/local/bin/api'), listen(8080));
    await x.apply(exec('/usr/local/bin/api'));
    await x.apply(
      exec('/usr/local/bin/api', { digest: 'sha256:bbbb' }),
      exec('/usr/local/bin/migrate', { digest: 'sha256:bbbb' }),
      listen(9090, { digest: 'sha256:bbbb' }),
    );
    expect(x.findings.map((f) => [f.rule, f.severity, f.context.includes('image-update')])).toEqual([
      ['unexpected-exec', 'low', true],
      ['new-listener', 'low', true],
    ]);
    // Learned: the same items do not report again.
    await x.apply(exec('/usr/local/bin/migrate', { digest: 'sha256:bbbb' }));
    expect(x.findings).toHaveLength(2);
    // A replica still on the old image gets no discount.
    await x.apply(exec('/usr/bin/wget', { digest: 'sha256:aaaa' }));
    expect(x.findings.at(-1)).toMatchObject({ rule: 'unexpected-exec', severity: 'high' });
    const delta = x.analyzer.reviewDelta(API_KEY)!;
    expect(delta.pendingReview.map((i) => i.key).sort()).toEqual(['/usr/local/bin/migrate', 'tcp/9090']);
    expect(delta.pendingReview.every((i) => i.imageDigest === 'sha256:bbbb')).toBe(true);
    const r = await x.analyzer.acceptDelta(API_KEY);
    expect(r.ok).toBe(true);
    expect(x.analyzer.reviewDelta(API_KEY)!.pendingReview).toEqual([]);
  });

  it('alerts at full severity once the rollout window closed', async () => {
    const x = await make();
    await x.learn(exec('/usr/local/bin/api'));
    await x.apply(exec('/usr/local/bin/api'));
    await x.apply(exec('/usr/local/bin/api', { digest: 'sha256:bbbb' }));
    x.now.ms += 11_000;
    await x.apply(exec('/usr/bin/nc', { digest: 'sha256:bbbb' }));
    expect(x.findings.map((f) => f.severity)).toEqual(['high']);
  });
});

describe('poisoning resistance', () => {
  it('keeps an item only one of two replicas showed as suspect and lists it for review', async () => {
    const x = await make();
    await x.learn(
      exec('/usr/local/bin/api', { pod: 'pod-1' }),
      exec('/usr/local/bin/api', { pod: 'pod-2', cgroupId: 5 }),
      exec('/tmp/.x/miner', { pod: 'pod-2', cgroupId: 5 }),
    );
    await x.apply(exec('/usr/local/bin/api'));
    const p = x.analyzer.getProfile(API_KEY)!;
    expect(p.state).toBe('stable');
    expect(p.items.find((i) => i.key === '/tmp/.x/miner')).toMatchObject({ suspect: true, replicas: 1 });
    expect(p.items.find((i) => i.key === '/usr/local/bin/api')).toMatchObject({ suspect: false, replicas: 2 });
    expect(x.analyzer.reviewDelta(API_KEY)!.suspect.map((i) => i.key)).toEqual(['/tmp/.x/miner']);
  });
});

describe('tuning', () => {
  it('approve silences an incident item and is saved before it resolves', async () => {
    const x = await make();
    await x.learn(exec('/bin/sh'));
    await x.apply(exec('/usr/bin/curl'));
    expect(x.findings).toHaveLength(1);
    const r = await x.analyzer.approve(API_KEY, 'exec', x.findings[0]!.key);
    expect(r.ok).toBe(true);
    expect(x.store.data.get(API_KEY)!.items.find((i) => i.key === '/usr/bin/curl')!.origin).toBe('approved');
    await x.apply(exec('/usr/bin/curl'));
    expect(x.findings).toHaveLength(1);
  });

  it('approving a pattern covers matching items and silences dropped-binary-exec', async () => {
    const x = await make();
    await x.learn(exec('/bin/sh'));
    await x.analyzer.approve(API_KEY, 'exec', '/opt/plugins/**');
    await x.apply(file('/opt/plugins/a/run'), exec('/opt/plugins/a/run'));
    expect(x.findings.map((f) => f.rule)).toEqual(['unexpected-file-write']);
  });

  it('removeItem makes an item novel again; relearn keeps approvals; lock stops rollout learning', async () => {
    const x = await make();
    await x.learn(exec('/bin/sh'), exec('/usr/bin/env'));
    await x.analyzer.approve(API_KEY, 'exec', '/usr/bin/env');
    expect((await x.analyzer.removeItem(API_KEY, 'exec', '/bin/sh')).ok).toBe(true);
    await x.apply(exec('/bin/sh'));
    expect(x.findings.map((f) => f.key)).toEqual(['/bin/sh']);
    expect(await x.analyzer.removeItem(API_KEY, 'exec', '/nope')).toEqual({ ok: false, error: 'no-such-item' });

    const r = await x.analyzer.relearn(API_KEY);
    expect(r.ok && r.profile.state).toBe('learning');
    expect(r.ok && r.profile.items.map((i) => [i.key, i.origin])).toEqual([['/usr/bin/env', 'approved']]);

    await x.learn(exec('/bin/sh'));
    await x.apply(exec('/bin/sh'));
    expect((await x.analyzer.lock(API_KEY)).ok).toBe(true);
    x.findings.length = 0;
    await x.apply(exec('/usr/bin/migrate', { digest: 'sha256:cccc' }));
    expect(x.findings.map((f) => [f.rule, f.severity])).toEqual([['unexpected-exec', 'high']]);
    expect(x.analyzer.getProfile(API_KEY)!.state).toBe('locked');
  });

  it('reports unknown profiles and invalid items', async () => {
    const x = await make();
    expect(await x.analyzer.lock('a/b/c/d/e')).toEqual({ ok: false, error: 'not-found' });
    expect(x.analyzer.reviewDelta('a/b/c/d/e')).toBeUndefined();
    await x.apply(exec('/bin/sh'));
    expect((await x.analyzer.approve(API_KEY, 'nonsense' as 'exec', '/x')).ok).toBe(false);
  });
});

describe('metrics and rule safety', () => {
  it('counts events by kind, findings by rule and severity, profiles by state and items', async () => {
    const x = await make();
    await x.learn(exec('/bin/sh'), syscalls(['read']), connect('127.0.0.1', 6379));
    await x.apply(exec('/usr/bin/curl'), listen(4444));
    const events = await metric(x, 'tripline_collector_events_total');
    expect(events.find((v) => v.labels.kind === 'exec')!.value).toBe(2);
    expect(events.find((v) => v.labels.kind === 'connect')!.value).toBe(1);
    const findings = await metric(x, 'tripline_collector_findings_total');
    expect(findings).toEqual(
      expect.arrayContaining([{ labels: { rule: 'unexpected-exec', severity: 'high' }, value: 1 }]),
    );
    expect((await metric(x, 'tripline_collector_profiles')).find((v) => v.labels.state === 'stable')!.value).toBe(1);
    expect((await metric(x, 'tripline_collector_profile_items'))[0]!.value).toBe(3);
  });

  it('survives a rule that throws, counts it, and still learns and runs the other rules', async () => {
    const boom: Rule = {
      ...createDefaultRules()[0]!,
      evaluate: () => {
        throw new Error('bug');
      },
    };
    const others = createDefaultRules().slice(1);
    const self = { kind: 'workload', id: API_KEY, tier: 'internal' } as const;
    const registry = new Registry();
    const findings: string[] = [];
    const base = await harness({});
    h = base;
    const analyzer = createAnalyzer({
      log: silentLogger(),
      registry,
      enricher: {
        workload: () => ({ workloadKey: API_KEY, tier: 'internal', labels: undefined, self }),
        peer: () => self,
      },
      policies: base.policies,
      store: memoryStore(),
      findings: { submit: (f) => findings.push(f.rule) },
      clock: () => 0,
      rules: [boom, ...others],
    });
    await analyzer.start();
    await analyzer.apply([file('/tmp/p'), { ...exec('/tmp/p'), writtenByContainer: true }], SOURCE);
    await analyzer.stop();
    expect(findings).toEqual(['dropped-binary-exec']);
    const errors = (await registry.getSingleMetric('tripline_collector_rule_errors_total')!.get()).values;
    expect(errors[0]).toMatchObject({ labels: { rule: 'unexpected-exec' }, value: 1 });
  });

  it('refuses a rule set with a duplicate id', () => {
    const rules = createDefaultRules();
    expect(() => createRuleRegistry([...rules, rules[2]!])).toThrow(/duplicate rule id "unexpected-syscall"/);
    expect(
      createRuleRegistry(rules)
        .forKind('connect')
        .map((r) => r.id),
    ).toEqual(['unexpected-egress', 'cross-sensitivity-flow']);
  });
});

describe("a container's resolved workload and profile", () => {
  it('follow a policy change for containers already seen', async () => {
    const x = await make();
    await x.learn(exec('/bin/sh'));
    await x.apply(exec('/bin/sh'), exec('/usr/bin/nc'));
    expect(x.findings.map((f) => f.context[0])).toEqual(['tier:internal']);
    x.policies.update(parsePolicyConfig({ learning: FAST_LEARNING, defaultTier: 'restricted' }, new Problems()));
    await x.apply(exec('/usr/bin/curl'));
    expect(x.findings.map((f) => f.context[0])).toEqual(['tier:internal', 'tier:restricted']);
  });

  it('follow a profile replaced from the store (a person edited the baseline)', async () => {
    let changed: ((p: ProfileSnapshot) => void) | undefined;
    const store = { ...memoryStore(), watch: (fn: (p: ProfileSnapshot) => void) => ((changed = fn), () => {}) };
    const x = await make({ store });
    await x.learn(exec('/bin/sh'));
    await x.apply(exec('/usr/bin/nc'));
    expect(x.findings.map((f) => f.key)).toEqual(['/usr/bin/nc']);
    const edited = x.analyzer.getProfile(API_KEY)!;
    const nc = { ...edited.items[0]!, key: '/usr/bin/nc', origin: 'approved' as const };
    changed!({ ...edited, items: [...edited.items, nc], revision: edited.revision + 1 });
    await x.apply(exec('/usr/bin/nc'));
    expect(x.findings).toHaveLength(1);
  });
});

describe('malformed input', () => {
  it('counts an event that cannot be analysed and still applies the rest of the batch', async () => {
    const x = await make();
    const broken = syscalls(['read']);
    (broken as unknown as { names: unknown }).names = null;
    // Straight to the analyzer: the wire cannot carry such an event.
    await x.analyzer.apply([exec('/bin/sh'), broken, exec('/usr/bin/env')], SOURCE);
    expect(x.analyzer.getProfile(API_KEY)!.items.map((i) => i.key)).toEqual(['/bin/sh', '/usr/bin/env']);
    const drops = await metric(x, 'tripline_collector_analysis_dropped_total');
    expect(drops).toEqual([{ labels: { reason: 'invalid_event' }, value: 1 }]);
  });

  it('counts events without a workload instead of failing', async () => {
    const x = await make();
    const e = exec('/bin/sh');
    e.container.workload = undefined;
    await x.apply(e);
    expect(x.analyzer.listProfiles()).toEqual([]);
    expect(await metric(x, 'tripline_collector_analysis_dropped_total')).toEqual([
      { labels: { reason: 'no_workload' }, value: 1 },
    ]);
  });
});

describe('with the file store', () => {
  it('restarts from the data directory with its learned, approved and stable state', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createFileProfileStore } = await import('../../../../collector/profiles/file-profile-store.js');
    const dir = await mkdtemp(join(tmpdir(), 'tripline-analyzer-'));
    try {
      const first = await make({ store: createFileProfileStore({ dir, log: silentLogger() }) });
      await first.learn(exec('/bin/sh'), listen(8080));
      await first.apply(exec('/bin/sh'));
      await first.analyzer.approve(API_KEY, 'exec', '/usr/bin/env');
      await first.analyzer.stop();
      h = undefined;
      const second = await make({ store: createFileProfileStore({ dir, log: silentLogger() }) });
      const p = second.analyzer.getProfile(API_KEY)!;
      expect(p.state).toBe('stable');
      expect(p.items.map((i) => [i.key, i.origin]).sort()).toEqual([
        ['/bin/sh', 'learned'],
        ['/usr/bin/env', 'approved'],
        ['tcp/8080', 'learned'],
      ]);
      await second.apply(exec('/usr/bin/env'), listen(8080), listen(31337 - 30000));
      expect(second.findings.map((f) => f.key)).toEqual(['tcp/1337']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('edits racing a flush', () => {
  it('never lets an older flush snapshot land after an approval', async () => {
    const x = await make();
    await x.apply(exec('/bin/sh'));
    x.store.delayNextMs = 30;
    const flushing = x.analyzer.flush();
    // Let the flush take its snapshot and start its (slow) save before the edit.
    await new Promise((r) => setImmediate(r));
    const approving = x.analyzer.approve(API_KEY, 'exec', '/usr/bin/env');
    await Promise.all([flushing, approving]);
    expect(x.store.data.get(API_KEY)!.items.map((i) => i.key)).toContain('/usr/bin/env');
    const revisions = x.store.saved.flat().map((p) => p.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  });
});
