/**
 * A running eBPF sensor that records everything it emits, with lookups by cgroup id
 * (the sensor sees the whole machine; tests only look at their own cgroups).
 */
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import type { EventKind, TriplineEvent } from '../../../proto/events.js';
import { createEbpfSensor, type EbpfSensor, type EbpfSensorOptions } from '../../../agent/sensors/ebpf/ebpf-sensor.js';
import { parseEbpfSensorConfig } from '../../../agent/sensors/ebpf/ebpf-sensor-config.js';
import { Registry } from 'prom-client';
import { waitFor } from '../../helpers/wait.js';

export interface SensorHarness {
  readonly sensor: EbpfSensor;
  readonly registry: Registry;
  /** Every event so far, from every cgroup. */
  all(): TriplineEvent[];
  /** Events of `kind` from cgroup `cgroupId`, in arrival order. */
  of<K extends EventKind>(cgroupId: number, kind: K): Extract<TriplineEvent, { kind: K }>[];
  /** Waits until `predicate` holds for some event of `kind` in `cgroupId`, and returns it. */
  waitForEvent<K extends EventKind>(
    cgroupId: number,
    kind: K,
    predicate: (e: Extract<TriplineEvent, { kind: K }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<TriplineEvent, { kind: K }>>;
  stop(): Promise<void>;
}

export async function startSensor(
  rawConfig: Record<string, unknown> = {},
  options: Pick<EbpfSensorOptions, 'dnsStateFile' | 'dnsNamespaceSource'> = {},
): Promise<SensorHarness> {
  const problems = new Problems();
  const config = parseEbpfSensorConfig({ syscallFlushMs: 100, dropPollMs: 100, ...rawConfig }, problems);
  problems.throwIfAny();
  const registry = new Registry();
  const sensor = createEbpfSensor({ config, log: silentLogger(), registry, ...options });
  const byCgroup = new Map<number, TriplineEvent[]>();
  await sensor.start((e) => {
    let list = byCgroup.get(e.container.cgroupId);
    if (!list) byCgroup.set(e.container.cgroupId, (list = []));
    list.push(e);
  });
  const of = <K extends EventKind>(cgroupId: number, kind: K): Extract<TriplineEvent, { kind: K }>[] =>
    (byCgroup.get(cgroupId) ?? []).filter((e): e is Extract<TriplineEvent, { kind: K }> => e.kind === kind);
  return {
    sensor,
    registry,
    all: () => [...byCgroup.values()].flat(),
    of,
    waitForEvent: (cgroupId, kind, predicate, timeoutMs = 5000) =>
      waitFor(() => of(cgroupId, kind).find(predicate), { timeoutMs, what: `a ${kind} event in cgroup ${cgroupId}` }),
    stop: () => sensor.stop(),
  };
}
