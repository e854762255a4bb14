import type { TriplineEvent } from '../../proto/events.js';
import type { DropCount } from '../../proto/report.js';

/** Receives observations from a sensor; must not throw and must not block. */
export type EmitFn = (event: TriplineEvent) => void;

/** Kernel-side drops not yet reported, keyed by cgroup id (0 when unattributable). */
export interface SensorDrops {
  readonly byCgroup: ReadonlyMap<number, readonly DropCount[]>;
}

/**
 * A source of observations (eBPF, /proc polling, replay). Events carry only
 * `container.cgroupId`; the container resolver fills in identity downstream.
 */
export interface Sensor {
  /** "ebpf", "proc" or "replay". */
  readonly name: string;
  /** What this sensor cannot observe on this node, reported to the collector. */
  readonly blindSpots: readonly string[];
  /** Attaches and starts delivering events to `emit`; rejects listing every problem. */
  start(emit: EmitFn): Promise<void>;
  /** Detaches everything it attached; safe to call twice. */
  stop(): Promise<void>;
  /** Drops since the last call (the caller folds them into the agent report). */
  takeDrops(): SensorDrops;
}
