/**
 * Exec storm: 20,000 back-to-back execs of /bin/true from one process in a kubelet-named
 * cgroup. Prints {"bench":"sensor-exec-storm",...}: exec events delivered for that cgroup
 * as a percentage, kernel drops counted for it, and how long delivery took.
 */
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../lib/logger.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { createCgroupSandbox } from '../../test/helpers/cgroup.js';
import { waitFor } from '../../test/helpers/wait.js';
import { buildNativeTools } from './native.js';

const EXECS = Number(process.env.BENCH_EXECS ?? 20_000);

const tools = buildNativeTools();
const sandbox = createCgroupSandbox();
const sensor = createEbpfSensor({ log: silentLogger() });
try {
  const spawnLoop = tools.path('spawn-loop');
  const cg = sandbox.container('containerd');
  let delivered = 0;
  await sensor.start((e) => {
    if (e.kind === 'exec' && e.container.cgroupId === cg.id && e.process.exe === '/bin/true') delivered++;
  });
  const t0 = performance.now();
  const r = await cg.run(spawnLoop, [String(EXECS), '/bin/true']);
  if (r.code !== 0) throw new Error(`spawn-loop failed: ${r.stderr}`);
  const ran = performance.now() - t0;
  let dropped = 0;
  await waitFor(
    () => {
      for (const d of sensor.takeDrops().byCgroup.get(cg.id) ?? []) if (d.kind === 'exec') dropped += d.count;
      return delivered + dropped >= EXECS;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  ).catch(() => undefined);
  const settled = performance.now() - t0;
  console.log(
    JSON.stringify({
      bench: 'sensor-exec-storm',
      execs: EXECS,
      delivered,
      deliveredPercent: Number(((100 * delivered) / EXECS).toFixed(3)),
      droppedCounted: dropped,
      execsPerSecond: Math.round(EXECS / (ran / 1000)),
      runSeconds: Number((ran / 1000).toFixed(3)),
      allDeliveredAfterSeconds: Number((settled / 1000).toFixed(3)),
      rssBytes: process.memoryUsage().rss,
    }),
  );
} finally {
  await sensor.stop();
  await sandbox.cleanup();
  tools.cleanup();
}
