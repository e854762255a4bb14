/** Decoded form of AgentReport (proto/tripline/v1/report.proto). */
import type { EventKind, WorkloadRef } from './events.js';

export const DROP_REASONS = ['ringbuf_full', 'queue_full', 'spool_full', 'decode_error'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface KindCounts {
  readonly kind: EventKind;
  readonly seen: number;
  readonly sent: number;
  readonly deduplicated: number;
}

export interface DropCount {
  readonly kind: EventKind;
  readonly reason: DropReason;
  readonly count: number;
}

export interface ContainerReport {
  readonly cgroupId: number;
  readonly workload: WorkloadRef | undefined;
  readonly counts: readonly KindCounts[];
  readonly drops: readonly DropCount[];
}

export interface AgentReport {
  readonly node: string;
  readonly agentRunId: string;
  readonly intervalStartNs: number;
  readonly intervalEndNs: number;
  readonly containers: readonly ContainerReport[];
  readonly unattributedDrops: readonly DropCount[];
  readonly sensor: string;
  readonly blindSpots: readonly string[];
}
