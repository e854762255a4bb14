import { describe, expect, it } from 'vitest';
import { createIncidentTable, type EvictionReason } from '../../../../collector/incidents/incident-table.js';
import { finding, workload } from './finding-fixture.js';

const limits = {
  windowMs: 60_000,
  maxOpen: 100,
  maxOpenPerWorkload: 10,
  maxRemembered: 1000,
  maxNewPerWorkloadPerMinute: 0,
};

function table(overrides: Partial<typeof limits> = {}) {
  const evictions: EvictionReason[] = [];
  let held = 0;
  let droppedUnsent = 0;
  const t = createIncidentTable(
    { ...limits, ...overrides },
    {
      evicted: (r, neverSent) => {
        evictions.push(r);
        if (neverSent) droppedUnsent++;
      },
      held: () => held++,
    },
  );
  return { t, evictions, counts: () => ({ held, droppedUnsent }) };
}

describe('incident aggregation', () => {
  it('sends a new signature once and folds repeats within the window into its count', () => {
    const { t } = table();
    const first = t.observe(finding(), 1000);
    expect(first?.reason).toBe('new');
    expect(first?.incident.revision).toBe(1);
    expect(first?.incident.count).toBe(1);
    for (let i = 0; i < 5; i++) expect(t.observe(finding(), 2000 + i)).toBeUndefined();
    const now = t.get(first!.incident.id)!;
    expect(now.count).toBe(6);
    expect(now.lastSeenMs).toBe(2004);
    expect(now.firstSeenMs).toBe(1000);
    expect(now.revision).toBe(1);
  });

  it('derives the same id from the same signature and different ids otherwise', () => {
    const { t } = table();
    const a = t.observe(finding(), 1)!.incident.id;
    const b = t.observe(finding({ key: '/bin/bash' }), 1)!.incident.id;
    const c = t.observe(finding({ w: workload('api') }), 1)!.incident.id;
    const d = t.observe(finding({ rule: 'dropped-binary-exec' }), 1)!.incident.id;
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect(table().t.observe(finding(), 99)!.incident.id).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{24}$/);
  });

  it('sends a severity rise at once with the next revision, but not a fall', () => {
    const { t } = table();
    t.observe(finding({ severity: 'medium', score: 50 }), 1000);
    const rise = t.observe(finding({ severity: 'critical', score: 95 }), 1001);
    expect(rise?.reason).toBe('severity');
    expect(rise?.incident.revision).toBe(2);
    expect(rise?.incident.severity).toBe('critical');
    expect(rise?.incident.count).toBe(2);
    expect(t.observe(finding({ severity: 'low', score: 20 }), 1002)).toBeUndefined();
    expect(t.list()[0]!.severity).toBe('critical');
  });

  it('re-notifies an ongoing incident once the window has passed since it was last sent', () => {
    const { t } = table();
    t.observe(finding(), 0);
    expect(t.observe(finding(), 59_999)).toBeUndefined();
    const again = t.observe(finding(), 60_000);
    expect(again?.reason).toBe('renotify');
    expect(again?.incident.revision).toBe(2);
    expect(again?.incident.count).toBe(3);
    expect(t.observe(finding(), 60_001)).toBeUndefined();
  });

  it('a flood of new signatures from one workload evicts only that workload', () => {
    const { t, evictions } = table({ maxOpen: 50, maxOpenPerWorkload: 10 });
    const quiet = t.observe(finding({ w: workload('quiet') }), 0)!.incident.id;
    for (let i = 0; i < 5000; i++) t.observe(finding({ w: workload('noisy'), key: `/tmp/x${i}` }), i);
    expect(t.get(quiet)).toBeDefined();
    expect(t.list().filter((i) => i.workload.name === 'noisy')).toHaveLength(10);
    expect(evictions.every((r) => r === 'workload-cap')).toBe(true);
    expect(evictions).toHaveLength(4990);
    // The quiet workload's repeats are still folded, not re-sent as new incidents.
    expect(t.observe(finding({ w: workload('quiet') }), 6000)).toBeUndefined();
    expect(t.get(quiet)!.count).toBe(2);
  });

  it('evicts the least recently active incident at the global cap', () => {
    const { t, evictions } = table({ maxOpen: 3, maxOpenPerWorkload: 3 });
    const ids = ['a', 'b', 'c'].map((n) => t.observe(finding({ w: workload(n) }), 0)!.incident.id);
    t.observe(finding({ w: workload('a') }), 1); // a becomes most recent
    t.observe(finding({ w: workload('d') }), 2);
    expect(evictions).toEqual(['global-cap']);
    expect(t.get(ids[1]!)).toBeUndefined();
    expect(t.get(ids[0]!)).toBeDefined();
    expect(t.size).toBe(3);
  });

  it('continues the revision sequence when an evicted signature comes back', () => {
    const { t } = table({ maxOpen: 1, maxOpenPerWorkload: 1 });
    t.observe(finding({ severity: 'low' }), 0);
    t.observe(finding({ severity: 'high' }), 1); // revision 2
    t.observe(finding({ w: workload('other') }), 2); // evicts the first
    const back = t.observe(finding(), 3);
    expect(back?.reason).toBe('new');
    expect(back?.incident.revision).toBe(3);
  });

  it('digests only incidents whose count grew since the sink last heard', () => {
    const { t } = table();
    const grown = t.observe(finding({ key: '/bin/a' }), 0)!.incident.id;
    t.observe(finding({ key: '/bin/b' }), 0);
    t.observe(finding({ key: '/bin/a' }), 1);
    const d = t.digest('soc');
    expect(d.map((r) => [r.incident.id, r.incident.count, r.reason])).toEqual([[grown, 2, 'digest']]);
    expect(t.digest('soc')).toEqual([]);
    // Another digest sink has not heard about the growth yet.
    expect(t.digest('pager').map((r) => r.incident.id)).toEqual([grown]);
  });

  it('round-trips through entries/load and applies newer outbox revisions on top', () => {
    const { t } = table();
    const rev = t.observe(finding(), 0)!;
    t.observe(finding(), 5);
    const { open, remembered } = t.entries();
    const { t: t2 } = table();
    t2.load(open, remembered);
    expect(t2.get(rev.incident.id)!.count).toBe(2);
    t2.restore({ ...rev.incident, revision: 2, severity: 'critical', count: 9, lastSeenMs: 50 }, 50);
    expect(t2.get(rev.incident.id)).toMatchObject({ revision: 2, severity: 'critical', count: 9, lastSeenMs: 50 });
    t2.restore({ ...rev.incident, revision: 1, count: 1 }, 0);
    expect(t2.get(rev.incident.id)!.revision).toBe(2);
  });

  it("holds a workload's new incidents beyond its budget and releases them as it refills", () => {
    const { t, counts } = table({ maxNewPerWorkloadPerMinute: 3, maxOpenPerWorkload: 50 });
    const sent = [];
    for (let i = 0; i < 10; i++) sent.push(t.observe(finding({ w: workload('noisy'), key: `/tmp/x${i}` }), 1000 + i));
    expect(sent.filter(Boolean)).toHaveLength(3);
    expect(counts().held).toBe(7);
    // Another workload has its own budget.
    expect(t.observe(finding({ w: workload('quiet') }), 1100)?.reason).toBe('new');
    // Held incidents are open and counted, but not digested and not re-notified.
    expect(t.list().filter((i) => i.workload.name === 'noisy')).toHaveLength(10);
    expect(t.observe(finding({ w: workload('noisy'), key: '/tmp/x5' }), 200_000)).toBeUndefined();
    expect(t.digest('soc').map((r) => r.incident.key)).toEqual([]);
    // A severity rise is never held.
    const raised = t.observe(finding({ w: workload('noisy'), key: '/tmp/x9', severity: 'critical' }), 1200);
    expect(raised).toMatchObject({ reason: 'severity', incident: { revision: 1, count: 2 } });
    expect(t.release(30_000)).toEqual([]);
    const released = t.release(61_000);
    expect(released.map((r) => [r.reason, r.incident.key, r.incident.revision])).toEqual([
      ['deferred', '/tmp/x3', 1],
      ['deferred', '/tmp/x4', 1],
      ['deferred', '/tmp/x5', 1],
    ]);
    expect(released[2]!.incident.count).toBe(2);
    expect(t.release(62_000)).toEqual([]);
    expect(t.release(122_000).map((r) => r.incident.key)).toEqual(['/tmp/x6', '/tmp/x7', '/tmp/x8']);
  });

  it('counts held incidents that are evicted before they could be sent', () => {
    const { t, counts } = table({ maxNewPerWorkloadPerMinute: 1, maxOpenPerWorkload: 2 });
    for (let i = 0; i < 5; i++) t.observe(finding({ key: `/tmp/y${i}` }), i);
    // y0 is sent; y1..y4 are held; the cap of 2 evicts y0 (sent), then y1 and y2 (held).
    expect(counts()).toEqual({ held: 4, droppedUnsent: 2 });
    expect(t.release(60_000).map((r) => r.incident.key)).toEqual(['/tmp/y3']);
  });
});
