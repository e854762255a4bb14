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
import { readFileSync, writeFileSync } from 'node:fs';
import { silentLogger } from '../../lib/logger.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { buildNativeTools } from './native.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface ProgInfo {
  readonly run_time_ns?: number;
  readonly run_cnt?: number;
}

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
  const knob = '/proc/sys/kernel/bpf_stats_enabled';
  const was = readFileSync(knob, 'utf8').trim();
  writeFileSync(knob, '1');
  let own: ProgInfo | undefined;
  const sensor = createEbpfSensor({ log: silentLogger() });
  try {
    await sensor.start(() => {});
    run();
    own = JSON.parse(
      execFileSync('bpftool', ['--json', 'prog', 'show', 'name', 'tl_uring_submit'], { encoding: 'utf8' }),
    ) as ProgInfo;
  } finally {
    await sensor.stop();
    writeFileSync(knob, was);
  }
  const runs = own?.run_cnt ?? 0;
  console.log(
    JSON.stringify({
      bench: 'sensor-uring-overhead',
      requests: REQUESTS,
      rounds: ROUNDS,
      noSensorNsPerRequest: median(sides.none),
      sensorNsPerRequest: median(sides.sensor),
      ratio: Number((median(sides.sensor) / median(sides.none)).toFixed(3)),
      ratioOfMinimums: Number((Math.min(...sides.sensor) / Math.min(...sides.none)).toFixed(3)),
      programOwnNsPerRequest: runs > 0 ? Number(((own!.run_time_ns ?? 0) / runs).toFixed(1)) : NaN,
      programRunsPerRequest: Number((runs / REQUESTS).toFixed(3)),
      samples: sides,
    }),
  );
} finally {
  tools.cleanup();
}
