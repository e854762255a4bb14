/**
 * Per-request cost of the io_uring program (tracepoint io_uring_submit_req, which runs
 * for every request any ring on the host submits): io_uring NOP requests, 32 per
 * io_uring_enter, timed with no sensor and with the whole sensor attached, alternating
 * within one run. NOPs do no work of their own, so this is the worst case. Then, with the
 * kernel's BPF statistics on, the program's own time per request (run_time_ns / run_cnt,
 * which includes the statistics' two clock reads: an upper bound).
 * Prints {"bench":"sensor-uring-overhead",...}.
 */
import { execFileSync } from 'node:child_process';
import { silentLogger } from '../../lib/logger.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { buildNativeTools } from './native.js';
import { median, programNsPerRun } from './program-stats.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const tools = buildNativeTools();
try {
  const loop = tools.path('uring-nop-loop');
  const run = (): number => Number(execFileSync(loop, [String(REQUESTS)], { encoding: 'utf8' }).trim());
  run(); // warm caches and page in the binary
  const sides = { none: [] as number[], sensor: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    sides.none.push(run());
    const sensor = createEbpfSensor({ log: silentLogger() });
    await sensor.start(() => {});
    try {
      if (!sensor.stats().programs.includes('tl_uring_submit')) throw new Error('the io_uring program did not attach');
      sides.sensor.push(run());
    } finally {
      await sensor.stop();
    }
  }
  const own = (await programNsPerRun({ log: silentLogger() }, [{ program: 'tl_uring_submit', run, count: REQUESTS }]))
    .tl_uring_submit!;
  console.log(
    JSON.stringify({
      bench: 'sensor-uring-overhead',
      requests: REQUESTS,
      rounds: ROUNDS,
      noSensorNsPerRequest: median(sides.none),
      sensorNsPerRequest: median(sides.sensor),
      ratio: Number((median(sides.sensor) / median(sides.none)).toFixed(3)),
      ratioOfMinimums: Number((Math.min(...sides.sensor) / Math.min(...sides.none)).toFixed(3)),
      programOwnNsPerRequest: own.nsPerRun,
      programRunsPerRequest: own.runsPerLoadItem,
      samples: sides,
    }),
  );
} finally {
  tools.cleanup();
}
