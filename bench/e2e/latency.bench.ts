/**
 * Kernel → webhook latency of `tripline up` (collector and eBPF agent in one process, as
 * shipped) under a steady background of 10,000 events/s that reach the collector but are
 * already in the profile. Probes are new TCP listeners opened from the workload's cgroup;
 * each probe's latency is the webhook's arrival time minus the kernel timestamp carried
 * in the incident's evidence. Prints {"bench":"kernel-to-webhook-latency",...}
 * (budget: p99 ≤ 250 ms at 10,000 events/s).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { silentLogger } from '../../lib/logger.js';
import { startAgent } from '../../agent/main.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { startCollector } from '../../collector/main.js';
import { loadTriplineConfig } from '../../cli/tripline-config.js';
import { createCgroupSandbox } from '../../test/helpers/cgroup.js';
import { waitFor } from '../../test/helpers/wait.js';

const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PROBES_PER_SECOND = 20;
const WARMUP_SECONDS = 3;
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tripline-latency-'));
const sandbox = createCgroupSandbox();

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const arrivals = new Map<string, number>(); // incident key → ms latency
const receiver = createServer((req, res) => {
  const at = Date.now();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    for (const i of JSON.parse(Buffer.concat(chunks).toString()) as Array<Record<string, unknown>>) {
      const evidence = i.evidence as { timeUnixNano: string };
      if (i.rule === 'new-listener')
        arrivals.set(String(i.key), at - Number(BigInt(evidence.timeUnixNano) / 1_000_000n));
    }
    res.end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverPort = (receiver.address() as { port: number }).port;

const build = (name: string): string => {
  const out = join(dir, name);
  execFileSync(process.env.CC ?? 'clang', ['-O2', '-o', out, join(here, `${name}.c`)]);
  return out;
};
const cc = build('paced-open');
const listenOnceBin = build('listen-once');
const cg = sandbox.container('containerd');
const configFile = join(dir, 'tripline.yaml');
writeFileSync(
  configFile,
  JSON.stringify({
    dataDir: join(dir, 'data'),
    logLevel: 'silent',
    ingest: { listen: '127.0.0.1:0' },
    api: { listen: '127.0.0.1:0' },
    agent: { pipeline: { dedupSize: 0, batchMaxDelay: '50ms' }, metricsListen: '127.0.0.1:0' },
    policy: { learning: { minDuration: '2s', stableFor: '2s', maxDuration: '10s' } },
    sinks: [{ id: 'bench', type: 'webhook', url: `http://127.0.0.1:${receiverPort}/`, minSeverity: 'info' }],
  }),
);
const config = loadTriplineConfig({ file: configFile, env: {} });
const log = silentLogger();
const registry = new Registry();
const collector = await startCollector(config.collector, {
  log,
  registry,
  dataDir: config.dataDir,
  agentTokens: ['bench-agent-token-0123456789'],
});
const agent = await startAgent(
  {
    ...config.agent,
    collector: {
      ...config.agent.collector,
      address: `127.0.0.1:${collector.ingestPort}`,
      token: 'bench-agent-token-0123456789',
      tokenFile: undefined,
    },
  },
  { log, registry, sensor: createEbpfSensor({ config: config.sensor, log, registry }), serveMetrics: false },
);
try {
  const target = join(dir, 'load.dat');
  const listenOnce = (port: number) => cg.run(listenOnceBin, [String(port)]);
  // Learning: the load itself and one probe listener become the profile.
  await cg.run(cc, [String(RATE), '1', target]);
  await listenOnce(19_999);
  const key = (await waitFor(() => collector.analyzer.listProfiles().find((p) => p.workload.name === cg.podUid)?.key, {
    timeoutMs: 20_000,
  }))!;
  await waitFor(() => collector.analyzer.getProfile(key)?.state === 'stable', {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'a stable profile',
  });

  const load = cg.spawn(cc, [String(RATE), String(SECONDS + WARMUP_SECONDS), target], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let loadDone = '';
  load.stdout!.on('data', (d: Buffer) => (loadDone += d.toString()));
  const loadExit = new Promise((r) => load.once('exit', r));
  // Latency is measured at a steady 10,000 events/s, after the load has ramped up.
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  // The probe loop runs in its own shell inside the cgroup, so starting probes costs this
  // process (collector + agent, as in `tripline up`) nothing.
  const count = (SECONDS - 1) * PROBES_PER_SECOND;
  const probes = Array.from({ length: count }, (_, i) => 20_000 + i);
  await cg.run('/bin/sh', [
    '-c',
    `i=0; while [ $i -lt ${count} ]; do "${listenOnceBin}" $((20000 + i)); i=$((i + 1)); sleep ${1 / PROBES_PER_SECOND}; done`,
  ]);
  await loadExit;
  await waitFor(() => probes.every((p) => arrivals.has(`tcp/${p}`)), {
    timeoutMs: 30_000,
    what: 'every probe at the webhook',
  }).catch(() => undefined);
  const latencies = probes
    .flatMap((p) => (arrivals.has(`tcp/${p}`) ? [arrivals.get(`tcp/${p}`)!] : []))
    .sort((a, b) => a - b);
  const loadEvents = Number(loadDone.trim());
  console.log(
    JSON.stringify({
      bench: 'kernel-to-webhook-latency',
      backgroundEventsPerSecond: Math.round(loadEvents / (SECONDS + WARMUP_SECONDS)),
      probes: probes.length,
      delivered: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1],
      budgetP99Ms: 250,
    }),
  );
} finally {
  await agent.stop();
  await collector.stop();
  receiver.close();
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
