/**
 * Start-up cost: time from start() until every program is attached, time to stop(), and
 * the agent's resident memory before, while attached and after. Prints
 * {"bench":"sensor-attach",...} with medians over a few runs.
 */
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../lib/logger.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { median } from './program-stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const rssBefore = process.memoryUsage().rss;
const startMs: number[] = [];
const stopMs: number[] = [];
let rssAttached = 0;
let programs = 0;
for (let i = 0; i < RUNS; i++) {
  const sensor = createEbpfSensor({ log: silentLogger() });
  const t0 = performance.now();
  await sensor.start(() => {});
  startMs.push(performance.now() - t0);
  programs = sensor.stats().programs.length;
  rssAttached = Math.max(rssAttached, process.memoryUsage().rss);
  const t1 = performance.now();
  await sensor.stop();
  stopMs.push(performance.now() - t1);
}
console.log(
  JSON.stringify({
    bench: 'sensor-attach',
    runs: RUNS,
    programs,
    startToAttachedMs: Number(median(startMs).toFixed(1)),
    stopMs: Number(median(stopMs).toFixed(1)),
    rssBeforeBytes: rssBefore,
    rssAttachedBytes: rssAttached,
    rssAfterBytes: process.memoryUsage().rss,
  }),
);
