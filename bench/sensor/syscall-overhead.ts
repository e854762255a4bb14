/**
 * Per-syscall overhead of the sensor: a getppid loop timed with no probes and with every
 * probe attached, alternating within one run so drift affects both sides alike.
 * Prints {"bench":"sensor-syscall-overhead",...} with the median and the minimum ns/call
 * of each side and their ratios (budget: ≤ 2.0). On a shared machine the minimum is the
 * steadier estimate: interference only ever adds time.
 */
import { execFileSync } from 'node:child_process';
import { silentLogger } from '../../lib/logger.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { buildNativeTools } from './native.js';
import { median } from './program-stats.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const tools = buildNativeTools();
try {
  const loop = tools.path('getppid-loop');
  const run = (): number => Number(execFileSync(loop, [String(CALLS)], { encoding: 'utf8' }).trim());
  run(); // warm caches and page in the binary
  const none: number[] = [];
  const all: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    none.push(run());
    const sensor = createEbpfSensor({ log: silentLogger() });
    await sensor.start(() => {});
    try {
      all.push(run());
    } finally {
      await sensor.stop();
    }
  }
  const noneNs = median(none);
  const allNs = median(all);
  const noneMin = Math.min(...none);
  const allMin = Math.min(...all);
  console.log(
    JSON.stringify({
      bench: 'sensor-syscall-overhead',
      calls: CALLS,
      rounds: ROUNDS,
      noProbesNsPerCall: noneNs,
      allProbesNsPerCall: allNs,
      ratio: Number((allNs / noneNs).toFixed(3)),
      noProbesMinNsPerCall: noneMin,
      allProbesMinNsPerCall: allMin,
      ratioOfMinimums: Number((allMin / noneMin).toFixed(3)),
      budget: 2.0,
      samples: { none, all },
    }),
  );
} finally {
  tools.cleanup();
}
