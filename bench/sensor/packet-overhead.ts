/**
 * Per-packet cost of the DNS answer program (cgroup_skb/ingress at the cgroup root,
 * which runs for every packet any socket on the host receives): loopback UDP datagrams
 * timed with the sensor attached without it (dnsNames off) and with it, alternating
 * within one run so drift affects both sides alike. The tracepoint programs are attached
 * on both sides, so the difference is the packet program alone; a run with no sensor is
 * shown for scale. Then, with the kernel's BPF statistics on for one more run, the
 * program's own time per packet (run_time_ns / run_cnt, which includes the statistics'
 * two clock reads: an upper bound) — steadier than the difference of two noisy totals.
 * The same for the variant older kernels load (namespace recorded per UDP socket at its
 * creation): its packet program per packet, its sock_create program per socket, and
 * socket creation timed with and without it.
 * Prints {"bench":"sensor-packet-overhead",...}.
 */
import { execFileSync } from 'node:child_process';
import { silentLogger } from '../../lib/logger.js';
import { Problems } from '../../lib/config-problems.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import type { DnsNamespaceSource } from '../../agent/sensors/ebpf/dns-namespace-source.js';
import { parseEbpfSensorConfig } from '../../agent/sensors/ebpf/ebpf-sensor-config.js';
import { buildNativeTools } from './native.js';
import { median, programNsPerRun } from './program-stats.js';

const DATAGRAMS = Number(process.env.BENCH_DATAGRAMS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 100_000);

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
  // Kernels without the namespace helper in packet programs: a sock_create program
  // records each UDP socket's namespace. Socket creation timed with it and without (the
  // helper source loads everything else alike).
  const socketLoop = tools.path('udp-socket-loop');
  const createSockets = (): number => Number(execFileSync(socketLoop, [String(SOCKETS)], { encoding: 'utf8' }).trim());
  createSockets();
  const sockets = { helper: [] as number[], socket: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const source of ['helper', 'socket'] as const) {
      const sensor = createEbpfSensor({ config: config(true), log: silentLogger(), dnsNamespaceSource: source });
      await sensor.start(() => {});
      try {
        sockets[source].push(createSockets());
      } finally {
        await sensor.stop();
      }
    }
  }
  const sensorWith = (source: DnsNamespaceSource) => ({
    config: config(true),
    log: silentLogger(),
    dnsNamespaceSource: source,
  });
  const own = (await programNsPerRun(sensorWith('helper'), [{ program: 'tl_dns_answer', run, count: DATAGRAMS }]))
    .tl_dns_answer!;
  const bySocket = await programNsPerRun(sensorWith('socket'), [
    { program: 'tl_dns_by_sock', run, count: DATAGRAMS },
    { program: 'tl_sock_netns', run: createSockets, count: SOCKETS },
  ]);
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
      programRunsPerDatagram: own.runsPerLoadItem,
      socketSource: {
        programOwnNsPerPacket: bySocket.tl_dns_by_sock!.nsPerRun,
        programRunsPerDatagram: bySocket.tl_dns_by_sock!.runsPerLoadItem,
        sockCreateProgramOwnNsPerSocket: bySocket.tl_sock_netns!.nsPerRun,
        sockCreateRunsPerSocket: bySocket.tl_sock_netns!.runsPerLoadItem,
        helperSourceNsPerSocket: median(sockets.helper),
        socketSourceNsPerSocket: median(sockets.socket),
        socketCreationRatio: Number((median(sockets.socket) / median(sockets.helper)).toFixed(3)),
        samples: sockets,
      },
      samples: sides,
    }),
  );
} finally {
  tools.cleanup();
}
