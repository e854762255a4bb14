/**
 * The whole agent at rest: CPU used over an idle interval (budget ≤ 1 % of a core) and
 * resident memory after start (budget ≤ 120 MB). The agent runs in a child process with
 * nothing else in it, so both numbers are the agent's own.
 * Needs `npm run build` first (it runs dist/cli/main.js). BENCH_EXTRA_CONFIG adds config
 * sections as JSON, e.g. '{"sensor":{"ebpf":{"dropPollMs":5000}}}'.
 * Prints {"bench":"agent-idle",...}.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tripline-idle-'));
const config = join(dir, 'tripline.yaml');
writeFileSync(
  config,
  JSON.stringify({
    dataDir: dir,
    logLevel: 'info',
    agent: { metricsListen: '127.0.0.1:0' },
    ...JSON.parse(process.env.BENCH_EXTRA_CONFIG ?? '{}'),
  }),
);

/** utime + stime of a process in seconds, and its RSS in bytes, from /proc. */
function usage(pid: number): { cpu: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // USER_HZ on Linux
  return { cpu: (Number(fields[11]) + Number(fields[12])) / ticks, rss: Number(fields[21]) * 4096 };
}

const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'agent', '--print', '--config', config], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
let log = '';
child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
try {
  const deadline = Date.now() + 30_000;
  while (!/"agent started"/.test(log) && Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`agent exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000)); // settle after start-up work
  const before = usage(child.pid!);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const after = usage(child.pid!);
  console.log(
    JSON.stringify({
      bench: 'agent-idle',
      idleSeconds: IDLE_SECONDS,
      cpuPercentOfOneCore: Number((((after.cpu - before.cpu) / IDLE_SECONDS) * 100).toFixed(2)),
      rssBytes: after.rss,
      budgets: { cpuPercentOfOneCore: 1, rssBytes: 120e6 },
    }),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
