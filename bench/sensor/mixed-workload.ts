/**
 * Wall-time overhead of the whole agent (eBPF sensor, container resolution, pipeline;
 * events written to /dev/null) on a realistic mixed workload: compiling C with clang,
 * archiving and compressing a source tree, and a shell loop of short-lived processes
 * writing files. Rounds alternate without and with the agent so drift hits both alike.
 * Prints {"bench":"agent-mixed-workload-overhead",...} (budget: ≤ 5 % by median).
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Problems } from '../../lib/config-problems.js';
import { silentLogger } from '../../lib/logger.js';
import { Registry } from 'prom-client';
import { parseAgentConfig } from '../../agent/config.js';
import { startAgent } from '../../agent/main.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { createPrintTransport } from '../../agent/transport/print-transport.js';
import { median } from './program-stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'tripline-mixed-'));

function workload(): number {
  const start = process.hrtime.bigint();
  for (const src of ['getppid-loop.c', 'open-loop.c', 'spawn-loop.c']) {
    execFileSync('clang', ['-O2', '-c', '-o', join(scratch, `${src}.o`), join(here, src)]);
  }
  execFileSync('tar', ['-czf', join(scratch, 'ts.tgz'), '-C', join(root, 'node_modules'), 'typescript/lib']);
  execFileSync('sh', [
    '-c',
    `for i in $(seq 1 300); do echo "$i" > ${scratch}/f-$i.txt; cat ${scratch}/f-$i.txt > /dev/null; done`,
  ]);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

try {
  workload(); // warm the page cache
  const without: number[] = [];
  const withAgent: number[] = [];
  const problems = new Problems();
  const config = parseAgentConfig({ spool: { dir: join(scratch, 'spool') }, metricsListen: '127.0.0.1:0' }, problems);
  problems.throwIfAny();
  for (let round = 0; round < ROUNDS; round++) {
    without.push(workload());
    const log = silentLogger();
    const out = createWriteStream('/dev/null');
    const agent = await startAgent(config, {
      log,
      registry: new Registry(),
      sensor: createEbpfSensor({ log }),
      transport: createPrintTransport({ out, log }),
      serveMetrics: false,
    });
    try {
      withAgent.push(workload());
    } finally {
      await agent.stop();
      out.close();
    }
  }
  const a = median(without);
  const b = median(withAgent);
  console.log(
    JSON.stringify({
      bench: 'agent-mixed-workload-overhead',
      rounds: ROUNDS,
      withoutAgentMs: Number(a.toFixed(1)),
      withAgentMs: Number(b.toFixed(1)),
      overheadPercent: Number((((b - a) / a) * 100).toFixed(2)),
      budgetPercent: 5,
      samples: { without, withAgent },
    }),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
