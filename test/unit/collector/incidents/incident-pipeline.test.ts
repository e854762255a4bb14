import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentPipeline } from '../../../../collector/incidents/create-incident-pipeline.js';
import type { IncidentPipeline } from '../../../../collector/incidents/incident-pipeline.js';
import { parseIncidentPipelineConfig } from '../../../../collector/incidents/incident-pipeline-config.js';
import type { Sink } from '../../../../collector/sinks/sink.js';
import { Problems } from '../../../../lib/config-problems.js';
import { silentLogger } from '../../../../lib/logger.js';
import { failure, retryable, SUCCESS } from '../../../../lib/result.js';
import { waitFor } from '../../../helpers/wait.js';
import { finding, workload } from './finding-fixture.js';
import { recordingSink } from './recording-sink.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function config(raw: Record<string, unknown> = {}) {
  const problems = new Problems();
  const c = parseIncidentPipelineConfig(
    {
      outbox: { fsyncInterval: '1ms' },
      delivery: { backoffInitial: '10ms', backoffMax: '40ms', maxAttempts: 3, ...(raw.delivery as object) },
      ...raw,
    },
    problems,
  );
  problems.throwIfAny();
  return c;
}

function pipeline(
  sinks: Sink[],
  opts: { dataDir?: string; raw?: Record<string, unknown>; clock?: { now(): number } } = {},
) {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tripline-incidents-'));
  if (!opts.dataDir) cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const registry = new Registry();
  const p: IncidentPipeline = createIncidentPipeline({
    log: silentLogger(),
    registry,
    dataDir,
    sinks,
    config: config(opts.raw),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  p.start();
  cleanup.push(() => p.stop());
  return { p, registry, dataDir };
}

describe('incident pipeline', () => {
  it('routes by severity floor and namespace, and folds repeats', async () => {
    const all = recordingSink('all');
    const severe = recordingSink('severe', undefined, { minSeverity: 'critical' });
    const prod = recordingSink('prod', undefined, { namespaces: ['prod'] });
    const { p, registry } = pipeline([all, severe, prod]);
    p.submit(finding({ severity: 'high' }));
    p.submit(finding({ severity: 'high' }));
    p.submit(finding({ w: workload('db', 'prod'), severity: 'critical', score: 95 }));
    await waitFor(() => all.accepted.length === 2 && severe.accepted.length === 1 && prod.accepted.length === 1);
    expect(severe.accepted[0]!.workload.namespace).toBe('prod');
    expect(prod.accepted[0]!.severity).toBe('critical');
    expect(
      p
        .list({})
        .map((i) => i.count)
        .sort(),
    ).toEqual([1, 2]);
    expect(p.list({ minSeverity: 'critical' })).toHaveLength(1);
    expect(p.list({ workload: 'test/prod' })).toHaveLength(1);
    const text = await waitFor(async () => {
      const t = await registry.metrics();
      return t.includes('tripline_collector_sink_sent_total{sink="all"} 2') && t;
    });
    expect(text).toContain('tripline_collector_incidents_total{rule="unexpected-exec",severity="high"} 1');
  });

  it('honours retryInMillis from a retryable result', async () => {
    const sink = recordingSink('slow-down', (_b, n) => (n === 1 ? retryable('429', 400) : SUCCESS));
    const { p } = pipeline([sink]);
    p.submit(finding());
    await waitFor(() => sink.accepted.length === 1, { timeoutMs: 3000 });
    const [a, b] = sink.attempts;
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(390);
  });

  it('dead-letters a failure, isolating the bad incident from its batch', async () => {
    let calls = 0;
    const sink = recordingSink('picky', (batch) => {
      calls++;
      return batch.some((i) => i.key === '/bin/bad') ? failure('400 rejected') : SUCCESS;
    });
    const { p, dataDir, registry } = pipeline([sink]);
    await p.whenDurable(); // keep the three in one batch
    for (const key of ['/bin/a', '/bin/bad', '/bin/b']) p.submit(finding({ key }));
    await waitFor(() => sink.accepted.length === 2);
    const file = join(dataDir, 'incidents', 'dead-letter.jsonl');
    const lines = await waitFor(() => {
      try {
        return readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
      } catch {
        return undefined;
      }
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      sink: 'picky',
      error: '400 rejected',
      incident: { key: '/bin/bad', revision: 1 },
    });
    expect(sink.accepted.map((i) => i.key).sort()).toEqual(['/bin/a', '/bin/b']);
    expect(calls).toBeGreaterThanOrEqual(2);
    await waitFor(async () =>
      (await registry.metrics()).includes('tripline_collector_dead_letter_total{sink="picky"} 1'),
    );
  });

  it('dead-letters after maxAttempts retryable results', async () => {
    const sink = recordingSink('down', () => retryable('503'));
    const { p, dataDir } = pipeline([sink]);
    p.submit(finding());
    const file = join(dataDir, 'incidents', 'dead-letter.jsonl');
    await waitFor(() => readFileSync(file, 'utf8').includes('"attempts":3'), { timeoutMs: 3000 });
    expect(sink.attempts).toHaveLength(3);
    await waitFor(() => p.health()[0]!.depth === 0);
    expect(p.health()[0]).toMatchObject({ id: 'down', ok: false, deadLettered: 1, lastError: '503', depth: 0 });
  });

  it('a slow sink does not delay a fast one', async () => {
    const slow = recordingSink(
      'slow',
      (_b, _n, signal) =>
        new Promise((r) => {
          const t = setTimeout(() => r(SUCCESS), 5000);
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            r(retryable('aborted'));
          });
        }),
    );
    const fast = recordingSink('fast');
    const { p, registry } = pipeline([slow, fast]);
    const started = Date.now();
    for (let i = 0; i < 50; i++) {
      p.submit(finding({ key: `/bin/x${i}` }));
      await p.whenDurable();
    }
    await waitFor(() => fast.accepted.length === 50, { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(slow.accepted).toHaveLength(0);
    expect(p.health().find((h) => h.id === 'slow')!.depth).toBe(50);
    const text = await registry.metrics();
    expect(text).toContain('tripline_collector_outbox_depth{sink="slow"} 50');
    expect(text).toContain('tripline_collector_outbox_depth{sink="fast"} 0');
    expect(
      Number(/tripline_collector_outbox_oldest_age_seconds\{sink="slow"\} ([\d.e-]+)/.exec(text)?.[1]),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/tripline_collector_sink_last_success_timestamp_seconds\{sink="fast"\} 1\d{9}/);
  });

  it('keeps counts, revisions and undelivered incidents across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tripline-incidents-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const down = recordingSink('hook', () => retryable('503'));
    const first = createIncidentPipeline({
      log: silentLogger(),
      registry: new Registry(),
      dataDir,
      sinks: [down],
      config: config({ delivery: { maxAttempts: 1000 } }),
    });
    first.start();
    for (let i = 0; i < 7; i++) first.submit(finding());
    first.submit(finding({ key: '/bin/nc', severity: 'critical', score: 95 }));
    await first.stop();
    const up = recordingSink('hook');
    const { p } = pipeline([up], { dataDir });
    await waitFor(() => up.accepted.length === 2);
    expect(
      p
        .list({ workload: 'test/default/Deployment/web/main' })
        .map((i) => [i.key, i.count])
        .sort(),
    ).toEqual([
      ['/bin/nc', 1],
      ['/bin/sh', 7],
    ]);
    p.submit(finding());
    expect(p.list({}).find((i) => i.key === '/bin/sh')!.count).toBe(8);
    const again = p.list({}).find((i) => i.key === '/bin/sh')!;
    expect(again.revision).toBe(1);
  });

  it('sends a digest revision of grown incidents to the sink that asked for it only', async () => {
    const digest = recordingSink('digest');
    const plain = recordingSink('plain');
    const { p } = pipeline([digest, plain], { raw: { delivery: { sinks: { digest: { digestInterval: '1s' } } } } });
    p.submit(finding());
    p.submit(finding());
    p.submit(finding());
    await waitFor(() => digest.accepted.length === 2, { timeoutMs: 3000 });
    expect(digest.accepted[1]).toMatchObject({ revision: 2, count: 3 });
    expect(plain.accepted).toHaveLength(1);
  });

  it('times out a sink that ignores its abort signal and retries', async () => {
    const sink = recordingSink('wedged', (_b, n) => (n === 1 ? new Promise(() => {}) : SUCCESS));
    const { p, registry } = pipeline([sink], { raw: { delivery: { sendTimeout: '100ms' } } });
    p.submit(finding());
    await waitFor(() => sink.accepted.length === 1, { timeoutMs: 4000 });
    expect(sink.attempts).toHaveLength(2);
    expect(await registry.metrics()).toContain(
      'tripline_collector_sink_failures_total{sink="wedged",reason="timeout"} 1',
    );
  });

  it('refuses delivery settings for a sink that does not exist', () => {
    expect(() =>
      pipeline([recordingSink('a')], { raw: { delivery: { sinks: { typo: { maxAttempts: 2 } } } } }),
    ).toThrow('incidents.delivery.sinks names sinks that are not configured: typo');
  });

  it('a flood of new incidents from one workload reaches the sink at its budget, behind nobody', async () => {
    let nowMs = Date.parse('2026-11-25T22:00:00Z');
    const sink = recordingSink('soc');
    const { p, registry } = pipeline([sink], {
      raw: { maxNewPerWorkloadPerMinute: 20, maxOpenPerWorkload: 1000 },
      clock: { now: () => nowMs },
    });
    for (let i = 0; i < 500; i++) p.submit(finding({ w: workload('noisy'), key: `/tmp/drop-${i}` }));
    p.submit(finding({ w: workload('quiet') }));
    await waitFor(() => sink.accepted.some((i) => i.workload.name === 'quiet'));
    await waitFor(() => sink.accepted.length === 21);
    expect(sink.accepted.filter((i) => i.workload.name === 'noisy')).toHaveLength(20);
    expect(p.list({ workload: 'test/default/Deployment/noisy', limit: 1000 })).toHaveLength(500);
    expect(await registry.metrics()).toContain('tripline_collector_incidents_held_total 480');
    nowMs += 60_000;
    await waitFor(() => sink.accepted.length === 41, { timeoutMs: 3000 });
    expect(sink.accepted.slice(21).map((i) => i.key)).toEqual(
      Array.from({ length: 20 }, (_, i) => `/tmp/drop-${20 + i}`),
    );
  });
});
