/**
 * Aggregation: folds findings into incidents by signature and decides which changes are
 * worth a new revision (a new incident, a severity rise, a re-notification once the
 * window has passed). Bounded memory: an LRU of open incidents with a global cap and a
 * per-workload cap, so a flood of new signatures from one workload evicts only that
 * workload's own incidents; and a per-workload budget of new incidents per minute, so
 * the same flood reaches the sinks at a bounded rate. Evicted ids keep their last
 * revision in a bounded list so a recurrence continues the revision sequence instead of
 * reusing an idempotency key.
 */
import { severityRank, type Incident } from '../../proto/incident.js';
import type { Finding } from './finding.js';
import { incidentId } from './incident-id.js';

/** Why a revision was produced (a bounded metric label). */
export type RevisionReason = 'new' | 'severity' | 'renotify' | 'digest' | 'deferred';

export interface Revision {
  readonly incident: Incident;
  readonly reason: RevisionReason;
}

export interface IncidentTableLimits {
  /** Re-notify an ongoing incident at most once per window. */
  readonly windowMs: number;
  readonly maxOpen: number;
  readonly maxOpenPerWorkload: number;
  /** Evicted ids whose last revision is remembered. */
  readonly maxRemembered: number;
  /**
   * New incidents sent per workload per minute (0 = no limit). Beyond it new incidents
   * are held (open and counted, but not sent) and released as the budget refills, so
   * one workload's flood reaches the sinks at a bounded rate and behind nobody else.
   * Severity rises are never held.
   */
  readonly maxNewPerWorkloadPerMinute: number;
}

/** What the table reports to metrics. */
export interface IncidentTableEvents {
  /** An open incident was evicted; `neverSent` when it was still held. */
  evicted(reason: EvictionReason, neverSent: boolean): void;
  /** A new incident was held back by its workload's budget. */
  held(): void;
}

/** An open incident's aggregation state (also the snapshot form). */
export interface OpenIncident {
  /** The last revision produced. */
  incident: Incident;
  count: number;
  lastSeenMs: number;
  /** When the last revision went to the outbox; -Infinity forces the next one out. */
  lastSentMs: number;
  /** Count carried by the last revision sent to every sink. */
  countSent: number;
  /** Count carried by the last digest per digest sink. */
  digestCounts?: Record<string, number>;
  /** Held back by the workload's new-incident budget; not sent anywhere yet. */
  held?: boolean;
}

export type EvictionReason = 'global-cap' | 'workload-cap';

export interface IncidentTable {
  /** Folds a finding in; returns the revision to send, or undefined for a quiet repeat. */
  observe(finding: Finding, nowMs: number): Revision | undefined;
  /** The revision of `id` could not be recorded: send the next occurrence instead. */
  unsent(id: string): void;
  /** Revisions of held incidents whose workload's budget has refilled, oldest first. */
  release(nowMs: number): Revision[];
  /** Digest revisions for `sinkId`: incidents whose count grew since it last heard. */
  digest(sinkId: string): Revision[];
  /** Applies a revision read back from the outbox at start-up. */
  restore(incident: Incident, sentMs: number): void;
  /** Current state of an incident (count and last seen up to date). */
  get(id: string): Incident | undefined;
  /** Open incidents, most recently active first. */
  list(): Incident[];
  readonly size: number;
  /** Open incidents (least recent first) and remembered revisions, for the snapshot. */
  entries(): { open: OpenIncident[]; remembered: Array<[string, number]> };
  load(open: readonly OpenIncident[], remembered: ReadonlyArray<[string, number]>): void;
}

interface WorkloadBudget {
  windowStartMs: number;
  used: number;
  /** Held incidents, oldest first. */
  readonly held: Set<OpenIncident>;
}

export function createIncidentTable(limits: IncidentTableLimits, events: IncidentTableEvents): IncidentTable {
  const open = new Map<string, OpenIncident>();
  const budgets = new Map<string, WorkloadBudget>();
  const byWorkload = new Map<string, Map<string, OpenIncident>>();
  const remembered = new Map<string, number>();

  function current(e: OpenIncident): Incident {
    return { ...e.incident, count: e.count, lastSeenMs: e.lastSeenMs };
  }

  function touch(e: OpenIncident): void {
    const id = e.incident.id;
    open.delete(id);
    open.set(id, e);
    const w = byWorkload.get(e.incident.workloadKey)!;
    w.delete(id);
    w.set(id, e);
  }

  function remove(e: OpenIncident, reason: EvictionReason): void {
    const id = e.incident.id;
    open.delete(id);
    const w = byWorkload.get(e.incident.workloadKey);
    w?.delete(id);
    const budget = budgets.get(e.incident.workloadKey);
    budget?.held.delete(e);
    if (w?.size === 0) {
      byWorkload.delete(e.incident.workloadKey);
      if (budget?.held.size === 0) budgets.delete(e.incident.workloadKey);
    }
    remember(id, e.incident.revision);
    events.evicted(reason, e.held === true);
  }

  /** The workload's budget, its one-minute window rolled forward to `nowMs`. */
  function budgetOf(workloadKey: string, nowMs: number): WorkloadBudget {
    let b = budgets.get(workloadKey);
    if (!b) budgets.set(workloadKey, (b = { windowStartMs: nowMs, used: 0, held: new Set() }));
    if (nowMs - b.windowStartMs >= 60_000) {
      b.windowStartMs = nowMs;
      b.used = 0;
    }
    return b;
  }

  /** Takes one new-incident token; false when the workload's budget is spent. */
  function take(workloadKey: string, nowMs: number): boolean {
    if (limits.maxNewPerWorkloadPerMinute === 0) return true;
    const b = budgetOf(workloadKey, nowMs);
    if (b.used >= limits.maxNewPerWorkloadPerMinute) return false;
    b.used++;
    return true;
  }

  function hold(e: OpenIncident, nowMs: number): void {
    e.held = true;
    budgetOf(e.incident.workloadKey, nowMs).held.add(e);
  }

  function unhold(e: OpenIncident): void {
    e.held = false;
    budgets.get(e.incident.workloadKey)?.held.delete(e);
  }

  function remember(id: string, revision: number): void {
    remembered.delete(id);
    remembered.set(id, revision);
    if (remembered.size > limits.maxRemembered) remembered.delete(remembered.keys().next().value!);
  }

  function insert(e: OpenIncident): void {
    const wk = e.incident.workloadKey;
    let w = byWorkload.get(wk);
    if (!w) byWorkload.set(wk, (w = new Map()));
    if (w.size >= limits.maxOpenPerWorkload) remove(w.values().next().value!, 'workload-cap');
    if (open.size >= limits.maxOpen) remove(open.values().next().value!, 'global-cap');
    if (!byWorkload.has(wk)) byWorkload.set(wk, w);
    w.set(e.incident.id, e);
    open.set(e.incident.id, e);
    remembered.delete(e.incident.id);
  }

  function revise(e: OpenIncident, nowMs: number, reason: RevisionReason, changes: Partial<Incident> = {}): Revision {
    e.incident = {
      ...e.incident,
      ...changes,
      revision: e.incident.revision + 1,
      count: e.count,
      lastSeenMs: e.lastSeenMs,
    };
    e.lastSentMs = nowMs;
    if (reason !== 'digest') e.countSent = e.count;
    return { incident: e.incident, reason };
  }

  function fromFinding(f: Finding): Partial<Incident> {
    return {
      severity: f.severity,
      score: f.score,
      summary: f.summary,
      mitreTechniques: f.mitreTechniques,
      mitreTactics: f.mitreTactics,
      context: f.context,
      evidence: f.event,
    };
  }

  return {
    observe(f, nowMs) {
      const id = incidentId(f.workloadKey, f.rule, f.key);
      const e = open.get(id);
      if (e) {
        touch(e);
        e.count++;
        e.lastSeenMs = Math.max(e.lastSeenMs, nowMs);
        if (severityRank(f.severity) > severityRank(e.incident.severity)) {
          if (e.held) unhold(e);
          return revise(e, nowMs, 'severity', fromFinding(f));
        }
        if (!e.held && nowMs - e.lastSentMs >= limits.windowMs) return revise(e, nowMs, 'renotify');
        return undefined;
      }
      const base: Incident = {
        id,
        revision: remembered.get(id) ?? 0,
        rule: f.rule,
        workload: f.workload,
        workloadKey: f.workloadKey,
        key: f.key,
        count: 1,
        firstSeenMs: nowMs,
        lastSeenMs: nowMs,
        ...(fromFinding(f) as Required<
          Pick<Incident, 'severity' | 'score' | 'summary' | 'mitreTechniques' | 'mitreTactics' | 'context' | 'evidence'>
        >),
      };
      const entry: OpenIncident = { incident: base, count: 1, lastSeenMs: nowMs, lastSentMs: nowMs, countSent: 1 };
      insert(entry);
      if (take(f.workloadKey, nowMs)) return revise(entry, nowMs, 'new');
      hold(entry, nowMs);
      events.held();
      return undefined;
    },

    release(nowMs) {
      const out: Revision[] = [];
      for (const [wk, b] of budgets) {
        if (b.held.size === 0) continue;
        budgetOf(wk, nowMs);
        for (const e of b.held) {
          if (b.used >= limits.maxNewPerWorkloadPerMinute) break;
          unhold(e);
          b.used++;
          out.push(revise(e, nowMs, 'deferred'));
        }
      }
      return out;
    },

    unsent(id) {
      const e = open.get(id);
      if (e) e.lastSentMs = -Infinity;
    },

    digest(sinkId) {
      const out: Revision[] = [];
      for (const e of open.values()) {
        if (e.held) continue;
        const heard = Math.max(e.countSent, e.digestCounts?.[sinkId] ?? 0);
        if (e.count <= heard) continue;
        const rev = revise(e, e.lastSentMs, 'digest');
        (e.digestCounts ??= {})[sinkId] = e.count;
        out.push(rev);
      }
      return out;
    },

    restore(incident, sentMs) {
      const e = open.get(incident.id);
      if (e) {
        if (incident.revision <= e.incident.revision) return;
        if (e.held) unhold(e);
        e.incident = incident;
        e.count = Math.max(e.count, incident.count);
        e.lastSeenMs = Math.max(e.lastSeenMs, incident.lastSeenMs);
        e.lastSentMs = Math.max(e.lastSentMs, sentMs);
        e.countSent = Math.max(e.countSent, incident.count);
        touch(e);
        return;
      }
      if ((remembered.get(incident.id) ?? 0) >= incident.revision) return;
      insert({
        incident,
        count: incident.count,
        lastSeenMs: incident.lastSeenMs,
        lastSentMs: sentMs,
        countSent: incident.count,
      });
    },

    get(id) {
      const e = open.get(id);
      return e && current(e);
    },

    list() {
      return [...open.values()].reverse().map(current);
    },

    get size() {
      return open.size;
    },

    entries() {
      return { open: [...open.values()], remembered: [...remembered.entries()] };
    },

    load(entries, rem) {
      for (const [id, rev] of rem) remember(id, rev);
      for (const e of entries) {
        const entry = { ...e };
        insert(entry);
        if (entry.held) hold(entry, entry.lastSeenMs);
      }
    },
  };
}
