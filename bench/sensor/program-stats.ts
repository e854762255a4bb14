/**
 * Measurement helpers the sensor benchmarks share: the median of samples, and a BPF
 * program's own kernel time per run from kernel.bpf_stats_enabled.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createEbpfSensor, type EbpfSensorOptions } from '../../agent/sensors/ebpf/ebpf-sensor.js';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface ProgInfo {
  readonly run_time_ns?: number;
  readonly run_cnt?: number;
}

export interface ProgramLoad {
  /** The BPF program whose statistics are read after `run`. */
  readonly program: string;
  readonly run: () => unknown;
  /** Items `run` makes (datagrams, sockets, requests), for runs per item. */
  readonly count: number;
}

/**
 * Each program's own kernel time per run (run_time_ns / run_cnt, which includes the
 * statistics' two clock reads: an upper bound), with a sensor made from `options` attached
 * and kernel.bpf_stats_enabled on; the knob is restored after. Each load runs, then its
 * program's statistics are read.
 */
export async function programNsPerRun(
  options: EbpfSensorOptions,
  loads: readonly ProgramLoad[],
): Promise<Record<string, { nsPerRun: number; runsPerLoadItem: number }>> {
  const knob = '/proc/sys/kernel/bpf_stats_enabled';
  const was = readFileSync(knob, 'utf8').trim();
  writeFileSync(knob, '1');
  const sensor = createEbpfSensor(options);
  const out: Record<string, { nsPerRun: number; runsPerLoadItem: number }> = {};
  try {
    await sensor.start(() => {});
    for (const load of loads) {
      load.run();
      // One program prints as an object, several as an array.
      const shown = JSON.parse(
        execFileSync('bpftool', ['--json', 'prog', 'show', 'name', load.program], { encoding: 'utf8' }),
      ) as ProgInfo | ProgInfo[];
      const info = Array.isArray(shown) ? shown[0] : shown;
      const runs = info?.run_cnt ?? 0;
      out[load.program] = {
        nsPerRun: runs > 0 ? Number(((info!.run_time_ns ?? 0) / runs).toFixed(1)) : NaN,
        runsPerLoadItem: Number((runs / load.count).toFixed(3)),
      };
    }
    return out;
  } finally {
    await sensor.stop();
    writeFileSync(knob, was);
  }
}
