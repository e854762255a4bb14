/**
 * Per-packet cost of the DNS answer program (cgroup_skb/ingress at the cgroup root,
 * which runs for every packet any socket on the host receives): loopback UDP datagrams
 * timed with the sensor attached without it (dnsNames off) and with it, alternating
 * within one run so drift affects both sides alike. The tracepoint programs are attached
 * on both sides, so the difference is the packet program alone; a run with no sensor is
 * shown for scale. Then, with the kernel's BPF statistics on for one more run, the
 * program's own time per packet (run_time_ns / run_cnt, which includes the statistics'
 * two clock reads: an upper bound) — steadier than the difference of two noisy totals.
 * Prints {"bench":"sensor-packet-overhead",...}.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { silentLogger } from '../../lib/logger.js';
import { Problems } from '../../lib/config-problems.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { parseEbpfSensorConfig } from '../../agent/sensors/ebpf/ebpf-sensor-config.js';
import { buildNativeTools } from './native.js';

const DATAGRAMS = Number(process.env.BENCH_DATAGRAMS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function config(dnsNames: boolean) {
  const problems = new Problems();
  // A resolver address nothing answers from: every packet takes the program's full
  // header checks and none is copied, as for the non-DNS bulk of real traffic.
  const c = parseEbpfSensorConfig({ dnsNames, dnsResolvers: ['127.0.0.153'] }, problems);
  problems.throwIfAny();
  return c;
}

interface ProgInfo {
  readonly run_time_ns?: number;
  readonly run_cnt?: number;
}

/** The packet program's own kernel time per run, from kernel.bpf_stats_enabled (restored after). */
async function programNsPerPacket(run: () => number): Promise<{ nsPerRun: number; runsPerDatagram: number }> {
  const knob = '/proc/sys/kernel/bpf_stats_enabled';
  const was = readFileSync(knob, 'utf8').trim();
  writeFileSync(knob, '1');
  const sensor = createEbpfSensor({ config: config(true), log: silentLogger() });
  try {
    await sensor.start(() => {});
    run();
    // One program prints as an object, several as an array.
    const shown = JSON.parse(
      execFileSync('bpftool', ['--json', 'prog', 'show', 'name', 'tl_dns_answer'], { encoding: 'utf8' }),
    ) as ProgInfo | ProgInfo[];
    const info = Array.isArray(shown) ? shown[0] : shown;
    const runs = info?.run_cnt ?? 0;
    return {
      nsPerRun: runs > 0 ? Number(((info!.run_time_ns ?? 0) / runs).toFixed(1)) : NaN,
      runsPerDatagram: Number((runs / DATAGRAMS).toFixed(3)),
    };
  } finally {
    await sensor.stop();
    writeFileSync(knob, was);
  }
}

const tools = buildNativeTools();
try {
  const pingpong = tools.path('udp-pingpong');
  const run = (): number => Number(execFileSync(pingpong, [String(DATAGRAMS)], { encoding: 'utf8' }).trim());
  run(); // warm caches and page in the binary
  const sides = { none: [] as number[], tracepoints: [] as number[], withPacketProgram: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    sides.none.push(run());
    for (const dnsNames of [false, true]) {
      const sensor = createEbpfSensor({ config: config(dnsNames), log: silentLogger() });
      await sensor.start(() => {});
      try {
        if (dnsNames && !sensor.stats().programs.includes('tl_dns_answer'))
          throw new Error('the DNS answer program did not attach');
        (dnsNames ? sides.withPacketProgram : sides.tracepoints).push(run());
      } finally {
        await sensor.stop();
      }
    }
  }
  const own = await programNsPerPacket(run);
  const med = (k: keyof typeof sides) => median(sides[k]);
  const min = (k: keyof typeof sides) => Math.min(...sides[k]);
  console.log(
    JSON.stringify({
      bench: 'sensor-packet-overhead',
      datagrams: DATAGRAMS,
      rounds: ROUNDS,
      noSensorNsPerDatagram: med('none'),
      tracepointsNsPerDatagram: med('tracepoints'),
      withPacketProgramNsPerDatagram: med('withPacketProgram'),
      packetProgramRatio: Number((med('withPacketProgram') / med('tracepoints')).toFixed(3)),
      packetProgramRatioOfMinimums: Number((min('withPacketProgram') / min('tracepoints')).toFixed(3)),
      programOwnNsPerPacket: own.nsPerRun,
      programRunsPerDatagram: own.runsPerDatagram,
      samples: sides,
    }),
  );
} finally {
  tools.cleanup();
}
