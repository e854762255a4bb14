/**
 * Per-container, per-kind counts for the periodic AgentReport. A snapshot is taken when
 * the report is built; if the batch carrying it is lost, the snapshot is folded back so
 * the next report still covers those counts (the collector relies on drops being
 * reported to mark profiles learned blind).
 */
import type { EventKind, WorkloadRef } from '../../proto/events.js';
import type { AgentReport, ContainerReport, DropCount, DropReason } from '../../proto/report.js';

interface KindTally {
  seen: number;
  sent: number;
  deduplicated: number;
}

interface ContainerTally {
  workload: WorkloadRef | undefined;
  kinds: Map<EventKind, KindTally>;
  drops: Map<string, DropCount>;
}

/** Counts taken out for one report; opaque to callers. */
export interface CountsSnapshot {
  readonly startNs: number;
  readonly containers: ReadonlyMap<number, ContainerTally>;
}

export type Tally = 'seen' | 'sent' | 'deduplicated';

export interface ReportCounters {
  count(cgroupId: number, kind: EventKind, what: Tally, n?: number): void;
  drop(cgroupId: number, kind: EventKind, reason: DropReason, n?: number): void;
  /** Remembers the workload a cgroup resolved to, for the report. */
  label(cgroupId: number, workload: WorkloadRef): void;
  /** Takes the counts accumulated since the last snapshot. */
  snapshot(nowNs: number): CountsSnapshot;
  /** Folds a snapshot whose report was not delivered back in. */
  restore(s: CountsSnapshot): void;
}

/** Container reports under cgroup id 0 are the unattributable ones. */
export const UNATTRIBUTED = 0;

export function createReportCounters(startNs: number): ReportCounters {
  let intervalStart = startNs;
  let containers = new Map<number, ContainerTally>();

  function tally(id: number): ContainerTally {
    let t = containers.get(id);
    if (!t) {
      t = { workload: undefined, kinds: new Map(), drops: new Map() };
      containers.set(id, t);
    }
    return t;
  }

  function kindTally(t: ContainerTally, kind: EventKind): KindTally {
    let k = t.kinds.get(kind);
    if (!k) {
      k = { seen: 0, sent: 0, deduplicated: 0 };
      t.kinds.set(kind, k);
    }
    return k;
  }

  function addDrop(t: ContainerTally, kind: EventKind, reason: DropReason, n: number): void {
    const key = `${kind}|${reason}`;
    t.drops.set(key, { kind, reason, count: (t.drops.get(key)?.count ?? 0) + n });
  }

  return {
    count(id, kind, what, n = 1) {
      kindTally(tally(id), kind)[what] += n;
    },
    drop(id, kind, reason, n = 1) {
      addDrop(tally(id), kind, reason, n);
    },
    label(id, workload) {
      tally(id).workload = workload;
    },
    snapshot(nowNs) {
      const s = { startNs: intervalStart, containers };
      containers = new Map();
      intervalStart = nowNs;
      return s;
    },
    restore(s) {
      intervalStart = Math.min(intervalStart, s.startNs);
      for (const [id, old] of s.containers) {
        const t = tally(id);
        t.workload ??= old.workload;
        for (const [kind, k] of old.kinds) {
          const cur = kindTally(t, kind);
          cur.seen += k.seen;
          cur.sent += k.sent;
          cur.deduplicated += k.deduplicated;
        }
        for (const d of old.drops.values()) addDrop(t, d.kind, d.reason, d.count);
      }
    },
  };
}

/** The report for a snapshot; `workloadOf` names cgroups that only had kernel drops. */
export function buildReport(
  s: CountsSnapshot,
  header: { node: string; agentRunId: string; sensor: string; blindSpots: readonly string[]; endNs: number },
  workloadOf: (cgroupId: number) => WorkloadRef | undefined,
): AgentReport {
  const containerReports: ContainerReport[] = [];
  let unattributedDrops: DropCount[] = [];
  for (const [id, t] of s.containers) {
    const drops = [...t.drops.values()];
    if (id === UNATTRIBUTED) {
      unattributedDrops = drops;
      continue;
    }
    containerReports.push({
      cgroupId: id,
      workload: t.workload ?? workloadOf(id),
      counts: [...t.kinds].map(([kind, k]) => ({ kind, ...k })),
      drops,
    });
  }
  return {
    node: header.node,
    agentRunId: header.agentRunId,
    intervalStartNs: s.startNs,
    intervalEndNs: header.endNs,
    containers: containerReports,
    unattributedDrops,
    sensor: header.sensor,
    blindSpots: header.blindSpots,
  };
}
