import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readIncidentSnapshot, writeIncidentSnapshot } from '../../../../collector/incidents/incident-snapshot.js';
import { createIncidentTable } from '../../../../collector/incidents/incident-table.js';
import { finding, workload } from './finding-fixture.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('incident snapshot', () => {
  it('round-trips many entries written in slices, including "send the next one" markers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-snapshot-'));
    dirs.push(dir);
    const limits = {
      windowMs: 60_000,
      maxOpen: 5000,
      maxOpenPerWorkload: 5000,
      maxRemembered: 100,
      maxNewPerWorkloadPerMinute: 0,
    };
    const events = { evicted: () => {}, held: () => {} };
    const t = createIncidentTable({ ...limits, maxOpen: 1000, maxOpenPerWorkload: 1000 }, events);
    for (let i = 0; i < 1100; i++) t.observe(finding({ w: workload(`w${i % 7}`), key: `/bin/t${i}` }), i);
    const first = t.list().at(-1)!.id;
    const last = t.list()[0]!.id;
    t.unsent(last);
    const { open, remembered } = t.entries();
    expect(remembered).toHaveLength(100);
    const path = join(dir, 'snapshot.json');
    await writeIncidentSnapshot(path, { version: 1, outboxSeq: 4242, open, remembered }, 64);
    expect(() => JSON.parse(readFileSync(path, 'utf8'))).not.toThrow();
    const back = readIncidentSnapshot(path)!;
    expect(back.outboxSeq).toBe(4242);
    expect(back.open).toHaveLength(1000);
    expect(back.remembered).toEqual(remembered);
    const t2 = createIncidentTable(limits, events);
    t2.load(back.open, back.remembered);
    expect(t2.list().map((i) => i.id)).toEqual(t.list().map((i) => i.id));
    expect(t2.get(first)).toEqual(t.get(first));
    // The unsent marker survived JSON (where -Infinity has no spelling): the next repeat is sent.
    expect(t2.observe(finding({ w: workload(`w${1099 % 7}`), key: '/bin/t1099' }), 2000)?.reason).toBe('renotify');
  });

  it('reports a file that is not a snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-snapshot-'));
    dirs.push(dir);
    const path = join(dir, 'snapshot.json');
    await writeIncidentSnapshot(path, { version: 1, outboxSeq: 0, open: [], remembered: [] });
    expect(readIncidentSnapshot(path)).toEqual({ version: 1, outboxSeq: 0, open: [], remembered: [] });
    expect(readIncidentSnapshot(join(dir, 'missing.json'))).toBeUndefined();
  });
});
