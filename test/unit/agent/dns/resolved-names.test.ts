import { describe, expect, it } from 'vitest';
import type { DnsResponse } from '../../../../agent/dns/dns-message.js';
import { createResolvedNames } from '../../../../agent/dns/resolved-names.js';

/** The network namespace cookie of the test's answers and connects. */
const NS = 7;

function response(name: string, ...answers: [string, number][]): DnsResponse {
  return { name, answers: answers.map(([address, ttlSeconds]) => ({ address, ttlSeconds })) };
}

describe('resolved names', () => {
  const make = (maxAddressesPerContainer = 8, maxAddresses = 100, minRetentionMs = 60_000) =>
    createResolvedNames({ maxAddressesPerContainer, maxAddresses, minRetentionMs });

  it('names an address per container, the most recent answer winning', () => {
    const r = make();
    r.note(1, NS, response('api.stripe.com', ['198.51.100.7', 300], ['2001:db8::7', 300]), 0);
    expect(r.nameOf(1, NS, '198.51.100.7', 1000)).toBe('api.stripe.com');
    expect(r.nameOf(1, NS, '2001:db8::7', 1000)).toBe('api.stripe.com');
    expect(r.nameOf(2, NS, '198.51.100.7', 1000)).toBeUndefined();
    expect(r.nameOf(1, NS, '198.51.100.8', 1000)).toBeUndefined();
    // A shared CDN address: the container's latest question is what it is connecting for.
    r.note(1, NS, response('static.example.com', ['198.51.100.7', 300]), 2000);
    expect(r.nameOf(1, NS, '198.51.100.7', 3000)).toBe('static.example.com');
    expect(r.addresses).toBe(2);
    expect(r.containers).toBe(1);
  });

  it('names only connects from the network namespace the answer reached', () => {
    const r = make();
    r.note(1, NS, response('api.stripe.com', ['198.51.100.7', 300]), 0);
    // A namespace the workload made for itself, where it answered on the resolver's address.
    expect(r.nameOf(1, NS + 1, '198.51.100.7', 1000)).toBeUndefined();
    expect(r.nameOf(1, NS, '198.51.100.7', 1000)).toBe('api.stripe.com');
    // Its forged answer for the same address unnames it for the real namespace too.
    r.note(1, NS + 1, response('api.stripe.com', ['198.51.100.7', 300]), 2000);
    expect(r.nameOf(1, NS, '198.51.100.7', 3000)).toBeUndefined();
  });

  it('keeps an answer for its TTL, at least for the minimum retention, then forgets it', () => {
    const r = make(8, 100, 60_000);
    r.note(1, NS, response('short.example.com', ['192.0.2.1', 5]), 0);
    r.note(1, NS, response('long.example.com', ['192.0.2.2', 600]), 0);
    expect(r.nameOf(1, NS, '192.0.2.1', 59_999)).toBe('short.example.com');
    expect(r.nameOf(1, NS, '192.0.2.1', 60_000)).toBeUndefined();
    expect(r.addresses).toBe(1); // dropped on the lookup
    expect(r.nameOf(1, NS, '192.0.2.2', 599_999)).toBe('long.example.com');
    expect(r.nameOf(1, NS, '192.0.2.2', 600_000)).toBeUndefined();
    expect(r.addresses).toBe(0);
    expect(r.containers).toBe(0);
  });

  it('renews an answered address, which then counts as the youngest of its container', () => {
    const r = make(10, 100, 1000);
    r.note(1, NS, response('a.example.com', ['192.0.2.1', 10]), 0);
    r.note(1, NS, response('a.example.com', ['192.0.2.1', 10]), 8000);
    expect(r.nameOf(1, NS, '192.0.2.1', 15_000)).toBe('a.example.com');
    expect(r.addresses).toBe(1);
    for (let i = 2; i <= 10; i++) r.note(1, NS, response(`h${i}.example.com`, [`192.0.2.${i}`, 3600]), 9000);
    r.note(1, NS, response('a.example.com', ['192.0.2.1', 3600]), 9000);
    r.note(1, NS, response('h11.example.com', ['192.0.2.11', 3600]), 9000); // full: the oldest goes
    expect(r.nameOf(1, NS, '192.0.2.2', 9001)).toBeUndefined();
    expect(r.nameOf(1, NS, '192.0.2.1', 9001)).toBe('a.example.com');
  });

  it('ignores a response without answers', () => {
    const r = make();
    r.note(1, NS, response('nothing.example.com'), 0);
    expect(r.containers).toBe(0);
  });

  it('forgets the oldest addresses of a full container, expired ones first', () => {
    const r = make(20, 1000, 1000);
    for (let i = 0; i < 20; i++) r.note(1, NS, response(`h${i}.example.com`, [`192.0.2.${i}`, 3600]), 0);
    expect(r.addresses).toBe(20);
    r.note(1, NS, response('h20.example.com', ['192.0.2.20', 3600]), 1);
    // Full: swept down to nine tenths before the new one, the oldest going first.
    expect(r.addresses).toBe(19);
    expect(r.nameOf(1, NS, '192.0.2.0', 2)).toBeUndefined();
    expect(r.nameOf(1, NS, '192.0.2.1', 2)).toBeUndefined();
    expect(r.nameOf(1, NS, '192.0.2.2', 2)).toBe('h2.example.com');
    expect(r.nameOf(1, NS, '192.0.2.20', 2)).toBe('h20.example.com');

    const e = make(20, 1000, 1000);
    for (let i = 0; i < 20; i++) e.note(1, NS, response(`h${i}.example.com`, [`192.0.2.${i}`, i === 5 ? 1 : 3600]), 0);
    e.note(1, NS, response('h20.example.com', ['192.0.2.20', 3600]), 5000);
    // The expired answer made half the room: only the oldest live one had to go.
    expect(e.addresses).toBe(19);
    expect(e.nameOf(1, NS, '192.0.2.0', 5001)).toBeUndefined();
    expect(e.nameOf(1, NS, '192.0.2.1', 5001)).toBe('h1.example.com');
    expect(e.nameOf(1, NS, '192.0.2.4', 5001)).toBe('h4.example.com');
    expect(e.nameOf(1, NS, '192.0.2.20', 5001)).toBe('h20.example.com');
  });

  it('keeps a node total by forgetting the least recently active containers', () => {
    const r = make(4, 20, 60_000);
    r.note(1, NS, response('a.example.com', ['192.0.2.1', 300]), 0);
    for (let id = 100; id < 119; id++) r.note(id, NS, response('b.example.com', ['192.0.2.2', 300]), 0);
    expect(r.addresses).toBe(20);
    // Container 1 connects to what it resolved: that counts as activity.
    expect(r.nameOf(1, NS, '192.0.2.1', 10)).toBe('a.example.com');
    r.note(200, NS, response('c.example.com', ['192.0.2.3', 300]), 20); // the 21st: the least active go
    expect(r.addresses).toBeLessThanOrEqual(18);
    expect(r.nameOf(100, NS, '192.0.2.2', 30)).toBeUndefined();
    expect(r.nameOf(101, NS, '192.0.2.2', 30)).toBeUndefined();
    expect(r.nameOf(1, NS, '192.0.2.1', 30)).toBe('a.example.com');
    expect(r.nameOf(200, NS, '192.0.2.3', 30)).toBe('c.example.com');
    expect(r.nameOf(118, NS, '192.0.2.2', 30)).toBe('b.example.com');
    expect(r.containers).toBeLessThan(21);
  });

  it('trims the noting container itself when it alone is over the node total', () => {
    const r = make(50, 20, 60_000);
    const answers = Array.from({ length: 25 }, (_, i): [string, number] => [`192.0.2.${i}`, 300]);
    r.note(1, NS, response('many.example.com', ...answers), 0);
    expect(r.addresses).toBeLessThanOrEqual(20);
    expect(r.nameOf(1, NS, '192.0.2.0', 1)).toBeUndefined();
    expect(r.nameOf(1, NS, '192.0.2.24', 1)).toBe('many.example.com');
  });

  it('stays within both bounds under a flood of answers from many containers', () => {
    const r = make(16, 200, 60_000);
    for (let i = 0; i < 20_000; i++) {
      const id = i % 37;
      r.note(id, NS, response(`n${i}.example.com`, [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 30]), i);
      expect(r.addresses).toBeLessThanOrEqual(200);
    }
    expect(r.nameOf(19_999 % 37, NS, '10.0.78.31', 20_000)).toBe('n19999.example.com');
  });
  it('gives its retained answers for saving and takes them back, expiries unchanged', () => {
    const r = make(8, 100, 60_000);
    r.note(1, NS, response('api.stripe.com', ['198.51.100.7', 300]), 0);
    r.note(2, NS + 1, response('short.example.com', ['192.0.2.1', 5]), 0);
    const saved = r.entries(10_000);
    expect(saved).toEqual([
      { cgroupId: 1, netns: NS, address: '198.51.100.7', name: 'api.stripe.com', expiresAtMs: 300_000 },
      { cgroupId: 2, netns: NS + 1, address: '192.0.2.1', name: 'short.example.com', expiresAtMs: 60_000 },
    ]);
    expect(r.entries(60_000)).toHaveLength(1);

    const restarted = make(8, 100, 60_000);
    restarted.restore(saved, 59_000);
    expect(restarted.nameOf(1, NS, '198.51.100.7', 59_000)).toBe('api.stripe.com');
    expect(restarted.nameOf(2, NS + 1, '192.0.2.1', 59_999)).toBe('short.example.com');
    // The retention floor counts from the answer, not from the restart.
    expect(restarted.nameOf(2, NS + 1, '192.0.2.1', 60_000)).toBeUndefined();
    // Already expired when restored: not taken.
    const late = make(8, 100, 60_000);
    late.restore(saved, 100_000);
    expect(late.addresses).toBe(1);
    expect(late.nameOf(2, NS + 1, '192.0.2.1', 100_000)).toBeUndefined();
  });
});
