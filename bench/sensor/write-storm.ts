/**
 * Write-open storm: 300,000 open(O_WRONLY|O_CREAT|O_TRUNC) + close in a tight C loop in a
 * kubelet-named cgroup, the fastest way to fill the ring buffer. Prints
 * {"bench":"sensor-write-storm",...}: file events delivered for that cgroup, drops the
 * kernel counted for it, and whether the two account for every open.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../lib/logger.js';
import { Problems } from '../../lib/config-problems.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { parseEbpfSensorConfig } from '../../agent/sensors/ebpf/ebpf-sensor-config.js';
import { createCgroupSandbox } from '../../test/helpers/cgroup.js';
import { waitFor } from '../../test/helpers/wait.js';
import { buildNativeTools } from './native.js';

const OPENS = Number(process.env.BENCH_OPENS ?? 300_000);
const RING_BYTES = Number(process.env.BENCH_RING_BYTES ?? 16 * 1024 * 1024);

const problems = new Problems();
const config = parseEbpfSensorConfig({ ringBufferBytes: RING_BYTES, dropPollMs: 200 }, problems);
problems.throwIfAny();
const tools = buildNativeTools();
const sandbox = createCgroupSandbox();
const sensor = createEbpfSensor({ config, log: silentLogger() });
try {
  const openLoop = tools.path('open-loop');
  const target = path.join(tools.dir, 'storm.txt');
  const cg = sandbox.container('crio');
  let delivered = 0;
  await sensor.start((e) => {
    if (e.kind === 'file' && e.container.cgroupId === cg.id && e.path === target) delivered++;
  });
  const t0 = performance.now();
  const r = await cg.run(openLoop, [String(OPENS), target]);
  if (r.code !== 0) throw new Error(`open-loop failed: ${r.stderr}`);
  const ran = performance.now() - t0;
  let dropped = 0;
  await waitFor(
    () => {
      for (const d of sensor.takeDrops().byCgroup.get(cg.id) ?? []) if (d.kind === 'file') dropped += d.count;
      return delivered + dropped >= OPENS;
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  ).catch(() => undefined);
  console.log(
    JSON.stringify({
      bench: 'sensor-write-storm',
      opens: OPENS,
      ringBufferBytes: RING_BYTES,
      delivered,
      deliveredPercent: Number(((100 * delivered) / OPENS).toFixed(3)),
      droppedCounted: dropped,
      accountedPercent: Number(((100 * (delivered + dropped)) / OPENS).toFixed(3)),
      opensPerSecond: Math.round(OPENS / (ran / 1000)),
      rssBytes: process.memoryUsage().rss,
    }),
  );
} finally {
  await sensor.stop();
  await sandbox.cleanup();
  tools.cleanup();
}
