import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeadLetterFile } from '../../../../collector/sinks/delivery/dead-letter.js';
import { createOutbox, type OutboxOptions } from '../../../../collector/sinks/delivery/outbox.js';
import type { Incident } from '../../../../proto/incident.js';
import { silentLogger } from '../../../../lib/logger.js';
import { createIncidentTable } from '../../../../collector/incidents/incident-table.js';
import { finding } from './finding-fixture.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tripline-outbox-'));
  dirs.push(d);
  return d;
}

function incidents(n: number): Incident[] {
  const t = createIncidentTable(
    { windowMs: 1, maxOpen: 1e6, maxOpenPerWorkload: 1e6, maxRemembered: 0, maxNewPerWorkloadPerMinute: 0 },
    { evicted: () => {}, held: () => {} },
  );
  return Array.from({ length: n }, (_, i) => t.observe(finding({ key: `/bin/x${i}` }), i)!.incident);
}

function open(dir: string, over: Partial<OutboxOptions> = {}) {
  const registry = new Registry();
  const outbox = createOutbox({
    dir,
    sinkIds: ['a', 'b'],
    maxBytes: 64 * 2 ** 20,
    segmentBytes: 64 * 1024,
    whenFull: 'drop-oldest',
    fsyncIntervalMs: 1,
    log: silentLogger(),
    registry,
    ...over,
  });
  return { outbox, registry };
}

const never = new AbortController().signal;

describe('outbox', () => {
  it('hands each sink every record in order once it is durable, independently of the other sink', async () => {
    const dir = tempDir();
    const { outbox } = open(dir);
    const list = incidents(300);
    for (const i of list) expect(outbox.append(i).status).toBe('appended');
    await outbox.whenDurable();
    const a = outbox.reader('a');
    const got: number[] = [];
    while (got.length < 300) got.push(...(await a.next(64, never)).map((r) => r.seq));
    expect(got).toEqual(list.map((_, i) => i + 1));
    outbox.ack('a', 300);
    expect(outbox.depth('a')).toBe(0);
    expect(outbox.depth('b')).toBe(300);
    const b = await outbox.reader('b').next(5, never);
    expect(b.map((r) => r.incident.id)).toEqual(list.slice(0, 5).map((i) => i.id));
    await outbox.close();
  });

  it('resumes each sink after its persisted cursor and cuts a torn tail on reopen', async () => {
    const dir = tempDir();
    const first = open(dir).outbox;
    for (const i of incidents(10)) first.append(i);
    await first.whenDurable();
    first.ack('a', 7);
    await first.close();
    const segs = readdirSync(join(dir)).filter((f) => f.startsWith('seg-'));
    appendFileSync(join(dir, segs.at(-1)!), '0badc0de {"s":11,"t":0,"i":{"id":"tor'); // crash mid-write
    const { outbox } = open(dir);
    expect(outbox.lastSeq).toBe(10);
    expect((await outbox.reader('a').next(100, never)).map((r) => r.seq)).toEqual([8, 9, 10]);
    expect((await outbox.reader('b').next(100, never)).map((r) => r.seq)).toHaveLength(10);
    expect(outbox.append(incidents(1)[0]!)).toEqual({ status: 'appended', seq: 11 });
    await outbox.close();
  });

  it('deletes segments once every sink passed them', async () => {
    const dir = tempDir();
    const { outbox } = open(dir);
    for (const i of incidents(400)) outbox.append(i);
    await outbox.whenDurable();
    const before = readdirSync(dir).filter((f) => f.startsWith('seg-')).length;
    expect(before).toBeGreaterThan(3);
    outbox.ack('a', 400);
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(before);
    outbox.ack('b', 400);
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-'))).toHaveLength(1);
    await outbox.close();
  });

  it('when full, drops the oldest segment and counts what the lagging sink lost', async () => {
    const dir = tempDir();
    const { outbox, registry } = open(dir, { maxBytes: 256 * 1024, whenFull: 'drop-oldest' });
    let appended = 0;
    for (const i of incidents(1000)) if (outbox.append(i).status === 'appended') appended++;
    expect(appended).toBe(1000);
    expect(outbox.bytes).toBeLessThanOrEqual(256 * 1024);
    await outbox.whenDurable();
    const first = (await outbox.reader('a').next(1, never))[0]!;
    expect(first.seq).toBeGreaterThan(1);
    const text = await registry.metrics();
    expect(text).toMatch(/tripline_collector_outbox_full_total \d+/);
    expect(text).toContain(`tripline_collector_outbox_dropped_total{sink="a"} ${first.seq - 1}`);
    await outbox.close();
  });

  it('when full with refuse-new, refuses and keeps what it has', async () => {
    const dir = tempDir();
    const { outbox, registry } = open(dir, { maxBytes: 256 * 1024, whenFull: 'refuse-new' });
    const results = incidents(1000).map((i) => outbox.append(i).status);
    const refused = results.filter((s) => s === 'refused').length;
    expect(refused).toBeGreaterThan(0);
    expect(results.indexOf('refused')).toBe(1000 - refused);
    await outbox.whenDurable();
    expect((await outbox.reader('a').next(1, never))[0]!.seq).toBe(1);
    expect(await registry.metrics()).toContain(`tripline_collector_outbox_full_total ${refused}`);
    await outbox.close();
  });

  it('a reader waits for new records and wakes on append', async () => {
    const dir = tempDir();
    const { outbox } = open(dir);
    const pending = outbox.reader('a').next(10, never);
    outbox.append(incidents(1)[0]!);
    expect((await pending).map((r) => r.seq)).toEqual([1]);
    await outbox.close();
  });

  it('skips a damaged record in a sealed segment by its checksum and counts it', async () => {
    const dir = tempDir();
    const first = open(dir).outbox;
    for (const i of incidents(200)) first.append(i);
    await first.close();
    const oldest = join(
      dir,
      readdirSync(dir)
        .filter((f) => f.startsWith('seg-'))
        .sort()[0]!,
    );
    const bytes = readFileSync(oldest);
    const secondLine = bytes.indexOf(0x0a) + 1;
    bytes[secondLine + 40] = bytes[secondLine + 40]! ^ 0x01; // flip one bit inside record 2
    writeFileSync(oldest, bytes);
    const { outbox, registry } = open(dir);
    const reader = outbox.reader('a');
    const got: number[] = [];
    while (got.length < 199) got.push(...(await reader.next(500, never)).map((r) => r.seq));
    expect(got.slice(0, 3)).toEqual([1, 3, 4]);
    expect(got).toHaveLength(199);
    expect(await registry.metrics()).toContain('tripline_collector_outbox_damaged_records_total 1');
    await outbox.close();
  });
});

describe('dead-letter file', () => {
  it('rotates to .1 past its size bound and keeps writing', async () => {
    const dir = tempDir();
    const path = join(dir, 'dead-letter.jsonl');
    const file = createDeadLetterFile(path, 4096, silentLogger());
    for (const i of incidents(6))
      expect(await file.write({ sink: 's', error: 'HTTP 400', attempts: 1, incidents: [i] })).toBe(true);
    await file.close();
    const current = readFileSync(path, 'utf8').trim().split('\n');
    const rotated = readFileSync(`${path}.1`, 'utf8').trim().split('\n');
    expect(current.length + rotated.length).toBe(6);
    expect(statSync(path).size).toBeLessThanOrEqual(4096);
    expect(JSON.parse(current.at(-1)!)).toMatchObject({
      sink: 's',
      error: 'HTTP 400',
      incident: { schema: 'tripline.incident/v1' },
    });
  });
});
