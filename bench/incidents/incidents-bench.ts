/**
 * Incident stage throughput. Prints JSON:
 *  - aggregation + outbox: new incidents/s (every finding a new signature, so every one is
 *    a revision written to the outbox) and repeat findings/s, with fsync group commits;
 *  - webhook delivery: incidents/s from the outbox to a loopback HTTPS receiver that
 *    verifies every signature, with batching.
 * Run: node --import tsx bench/incidents/incidents-bench.ts [newIncidents] [webhookIncidents]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createIncidentPipeline } from '../../collector/incidents/create-incident-pipeline.js';
import { parseIncidentPipelineConfig } from '../../collector/incidents/incident-pipeline-config.js';
import type { Sink } from '../../collector/sinks/sink.js';
import { parseWebhookSinkConfig } from '../../collector/sinks/webhook/webhook-config.js';
import { createWebhookSink } from '../../collector/sinks/webhook/webhook-sink.js';
import { Problems } from '../../lib/config-problems.js';
import { silentLogger } from '../../lib/logger.js';
import { startHttpsReceiver } from '../../test/helpers/https-receiver.js';
import { finding, workload } from '../../test/unit/collector/incidents/finding-fixture.js';

const NEW = Number(process.argv[2] ?? 50_000);
const WEBHOOK = Number(process.argv[3] ?? 20_000);
const INGEST_BATCH = 256;
const log = silentLogger();

function pipeline(dataDir: string, sinks: Sink[], registry: Registry) {
  const problems = new Problems();
  const config = parseIncidentPipelineConfig(
    { maxOpen: 200_000, maxOpenPerWorkload: 10_000, outbox: { maxBytes: '1GiB', fsyncInterval: '5ms' } },
    problems,
  );
  problems.throwIfAny();
  return createIncidentPipeline({ log, registry, dataDir, sinks, config });
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Submits `findings` in ingest-sized batches, letting group commits run in between. */
async function drive(submit: (i: number) => void, n: number, durable: () => Promise<void>) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i += INGEST_BATCH) {
    for (let j = i; j < Math.min(n, i + INGEST_BATCH); j++) submit(j);
    await yieldToLoop();
  }
  await durable();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // perCpuSecond is what one core sustains when it is not shared with other work.
  return {
    count: n,
    seconds: round(seconds),
    perSecond: Math.round(n / seconds),
    cpuSeconds: round(cpuSeconds),
    perCpuSecond: Math.round(n / cpuSeconds),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function aggregationAndOutbox() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tripline-bench-'));
  const registry = new Registry();
  try {
    const p = pipeline(dataDir, [], registry);
    p.start();
    const workloads = Array.from({ length: 100 }, (_, i) => workload(`w${i}`));
    const fresh = Array.from({ length: NEW }, (_, i) => finding({ w: workloads[i % 100], key: `/usr/bin/tool-${i}` }));
    const newIncidents = await drive(
      (i) => p.submit(fresh[i]!),
      NEW,
      () => p.whenDurable(),
    );
    const repeats = await drive(
      (i) => p.submit(fresh[i % 1000]!),
      NEW * 4,
      () => p.whenDurable(),
    );
    const metrics = await registry.getSingleMetricAsString('tripline_collector_outbox_fsync_seconds');
    const commits = Number(/tripline_collector_outbox_fsync_seconds_count (\d+)/.exec(metrics)?.[1] ?? 0);
    await p.stop();
    return { newIncidents: { ...newIncidents, fsyncGroupCommits: commits }, repeatFindings: repeats };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function webhookDelivery(maxBatch: number) {
  const secret = 'benchmark signing secret';
  const receiver = await startHttpsReceiver({ secret });
  const dataDir = mkdtempSync(join(tmpdir(), 'tripline-bench-'));
  const registry = new Registry();
  try {
    const problems = new Problems();
    const sinkConfig = parseWebhookSinkConfig(
      {
        id: 'bench',
        type: 'webhook',
        url: receiver.url,
        hmacSecret: secret,
        maxBatch,
        tls: { caFile: receiver.caFile },
      },
      'sink',
      problems,
    );
    problems.throwIfAny();
    const p = pipeline(dataDir, [createWebhookSink(sinkConfig, { log, registry })], registry);
    // Fill the outbox first, then time delivery alone.
    for (let i = 0; i < WEBHOOK; i++) p.submit(finding({ w: workload(`w${i % 100}`), key: `/opt/x-${i}` }));
    await p.whenDurable();
    const t0 = performance.now();
    p.start();
    while (receiver.accepted.size < WEBHOOK) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - t0) / 1000;
    await p.stop();
    return {
      maxBatch,
      count: WEBHOOK,
      seconds: round(seconds),
      perSecond: Math.round(WEBHOOK / seconds),
      requests: receiver.requests.length,
      duplicates: receiver.duplicates.length,
    };
  } finally {
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const result = {
  node: process.version,
  loadAverage: (await import('node:os')).loadavg().map(round),
  aggregationAndOutbox: await aggregationAndOutbox(),
  webhook: [await webhookDelivery(100), await webhookDelivery(500)],
};
console.log(JSON.stringify(result, null, 2));
