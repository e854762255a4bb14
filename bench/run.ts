/**
 * `npm run bench`: runs every benchmark one after another (each in its own process, so
 * one's heap and threads do not skew the next), prints each one's JSON result, and
 * writes them all to bench/results.json. Ratios inside one benchmark are comparable;
 * absolute rates depend on the machine (docs/performance.md says which one).
 *
 *   npm run bench              # all
 *   npm run bench -- detect    # those whose path contains "detect"
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

/** Benchmarks that need root and the eBPF sensor are marked; they are skipped (and said so) without root. */
const BENCHMARKS: ReadonlyArray<{ file: string; root?: boolean }> = [
  { file: 'sensor/syscall-overhead.ts', root: true },
  { file: 'sensor/packet-overhead.ts', root: true },
  { file: 'sensor/uring-overhead.ts', root: true },
  { file: 'sensor/exec-storm.ts', root: true },
  { file: 'sensor/write-storm.ts', root: true },
  { file: 'sensor/attach.ts', root: true },
  { file: 'sensor/mixed-workload.ts', root: true },
  { file: 'sensor/idle.ts', root: true },
  { file: 'detect/detect.bench.ts' },
  { file: 'ingest/ingest.bench.ts' },
  { file: 'incidents/incidents-bench.ts' },
  { file: 'e2e/latency.bench.ts', root: true },
];

/** A benchmark prints one JSON document (possibly pretty-printed) or one JSON object per line. */
function parseResults(stdout: string): unknown[] {
  const start = stdout.indexOf('{');
  if (start >= 0) {
    try {
      return [JSON.parse(stdout.slice(start)) as unknown];
    } catch {
      // not one document: fall through to one object per line
    }
  }
  return stdout.split('\n').flatMap((line) => {
    if (!line.trim().startsWith('{')) return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch {
      return [];
    }
  });
}

const filter = process.argv.slice(2);
const isRoot = process.getuid?.() === 0;
const results: Record<string, unknown> = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, at: new Date().toISOString() },
};
let failed = 0;
for (const b of BENCHMARKS) {
  if (filter.length && !filter.some((f) => b.file.includes(f))) continue;
  if (b.root && !isRoot) {
    console.log(`skip ${b.file}: needs root for the eBPF sensor`);
    continue;
  }
  console.log(`\n== ${b.file}`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, b.file)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const parsed = parseResults(run.stdout);
  if (run.status !== 0 || parsed.length === 0) {
    failed++;
    console.log(`FAILED (exit ${run.status}): ${run.stdout.slice(-2000)}`);
    continue;
  }
  results[b.file] = parsed.length === 1 ? parsed[0] : parsed;
  for (const p of parsed) console.log(JSON.stringify(p, null, 2));
}
writeFileSync(join(HERE, 'results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`\nresults written to bench/results.json${failed ? `; ${failed} benchmark(s) failed` : ''}`);
process.exitCode = failed ? 1 : 0;
