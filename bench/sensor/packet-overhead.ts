/**
 * Per-packet cost of the DNS answer program (cgroup_skb/ingress at the cgroup root,
 * which runs for every packet any socket on the host receives): loopback UDP datagrams
 * timed with the sensor attached without it (dnsNames off) and with it, alternating
 * within one run so drift affects both sides alike. The tracepoint programs are attached
 * on both sides, so the difference is the packet program alone; a run with no sensor is
 * shown for scale. Prints {"bench":"sensor-packet-overhead",...}: median and minimum
 * ns/datagram per side and their ratios.
 */
import { execFileSync } from 'node:child_process';
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
      samples: sides,
    }),
  );
} finally {
  tools.cleanup();
}
