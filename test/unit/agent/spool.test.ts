import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logger.js';
import { openSpool, type Spool } from '../../../agent/transport/spool.js';

let dir: string;
const open: Spool[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tripline-spool-'));
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function spool(over: { maxBytes?: number; segmentBytes?: number } = {}): Spool {
  const s = openSpool({
    dir,
    maxBytes: over.maxBytes ?? 1 << 20,
    segmentBytes: over.segmentBytes ?? 1 << 16,
    fsyncIntervalMs: 0,
    log: silentLogger(),
  });
  open.push(s);
  return s;
}

const body = (i: number, size = 100): Buffer => Buffer.alloc(size, i % 256);
const segments = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg'));

describe('spool', () => {
  it('returns records in append order across segments and deletes delivered segments', () => {
    const s = spool({ segmentBytes: 1000 });
    for (let i = 0; i < 30; i++) expect(s.append(body(i))).toBe('ok');
    expect(segments().length).toBeGreaterThan(2);
    expect(s.bytes).toBe(30 * 108);
    for (let i = 0; i < 30; i++) {
      expect(s.read()).toEqual(body(i));
      s.release();
    }
    expect(s.read()).toBeUndefined();
    expect(segments()).toEqual([]);
    expect(s.bytes).toBe(0);
  });

  it('refuses records beyond maxBytes and accepts again once delivered', () => {
    const s = spool({ maxBytes: 1080 });
    for (let i = 0; i < 10; i++) expect(s.append(body(i))).toBe('ok');
    expect(s.append(body(10))).toBe('full');
    s.read();
    s.release();
    // The record is delivered but its segment still holds the other nine: space comes back per segment.
    expect(s.append(body(10))).toBe('full');
    for (let i = 1; i < 10; i++) {
      s.read();
      s.release();
    }
    expect(s.append(body(10))).toBe('ok');
  });

  it('recovers undelivered records after a restart, and cuts a torn tail', () => {
    const first = spool({ segmentBytes: 500 });
    for (let i = 0; i < 8; i++) first.append(body(i));
    expect(first.read()).toEqual(body(0));
    first.release();
    first.close();
    // A crash in the middle of a write leaves a partial record at the end of the last segment.
    const last = segments().sort().at(-1)!;
    appendFileSync(join(dir, last), Buffer.from([50, 0, 0, 0, 1, 2, 3]));
    const second = spool({ segmentBytes: 500 });
    // Record 0 was delivered, but its segment was not: it comes back (duplicates are allowed, loss is not).
    expect(second.unread).toBe(8);
    const got: Buffer[] = [];
    for (let b = second.read(); b; b = second.read()) got.push(b);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => body(i)));
    expect(second.append(body(99))).toBe('ok');
    expect(second.read()).toEqual(body(99));
  });
});
