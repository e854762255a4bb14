import { describe, expect, it } from 'vitest';
import { DNS_PARSE_ERRORS, parseDnsResponse, type DnsParse } from '../../../../agent/dns/dns-message.js';

const A = 1;
const CNAME = 5;
const TXT = 16;
const AAAA = 28;
const IN = 1;
const CH = 3;
const RESPONSE = 0x8180; // QR, RD, RA, NOERROR

/**
 * A small DNS message writer. Names are compressed the way servers do it: a suffix already
 * written is replaced by a pointer to it; `raw` and `at` let a test write anything else.
 */
class Message {
  readonly bytes: number[] = [];
  private readonly written = new Map<string, number>();

  constructor(flags = RESPONSE, counts: [number, number, number, number] = [1, 0, 0, 0]) {
    this.u16(0x1234).u16(flags);
    for (const c of counts) this.u16(c);
  }

  get at(): number {
    return this.bytes.length;
  }

  u16(v: number): this {
    this.bytes.push((v >> 8) & 0xff, v & 0xff);
    return this;
  }

  u32(v: number): this {
    return this.u16(Math.floor(v / 0x10000)).u16(v & 0xffff);
  }

  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  name(name: string, compress = true): this {
    const labels = name === '' ? [] : name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const earlier = this.written.get(suffix);
      if (compress && earlier !== undefined) return this.raw(0xc0 | (earlier >> 8), earlier & 0xff);
      if (this.at < 0x4000) this.written.set(suffix, this.at);
      const label = labels[i]!;
      this.raw(label.length, ...[...label].map((c) => c.charCodeAt(0)));
    }
    return this.raw(0);
  }

  question(name: string, type = A, cls = IN): this {
    return this.name(name).u16(type).u16(cls);
  }

  /** A record; `rdata` is bytes, or a function writing them (for names). */
  rr(owner: string, type: number, ttl: number, rdata: number[] | ((m: this) => void), cls = IN): this {
    this.name(owner).u16(type).u16(cls).u32(ttl);
    const lengthAt = this.at;
    this.u16(0);
    if (typeof rdata === 'function') rdata(this);
    else this.raw(...rdata);
    const len = this.at - lengthAt - 2;
    this.bytes[lengthAt] = len >> 8;
    this.bytes[lengthAt + 1] = len & 0xff;
    return this;
  }

  cname(owner: string, target: string, ttl = 300): this {
    return this.rr(owner, CNAME, ttl, (m) => m.name(target));
  }

  build(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const v4 = (s: string): number[] => s.split('.').map(Number);
function v6(groups: number[]): number[] {
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function ok(p: DnsParse) {
  if (!p.ok) throw new Error(`refused: ${p.error}`);
  return p.response;
}

function refusal(p: DnsParse): string {
  return p.ok ? 'accepted' : p.error;
}

describe('parseDnsResponse: accepted responses', () => {
  it('reads the question name and its A records, with their TTLs', () => {
    const msg = new Message(RESPONSE, [1, 2, 0, 0])
      .question('API.Stripe.com')
      .rr('api.stripe.com', A, 60, v4('198.51.100.7'))
      .rr('api.stripe.com', A, 45, v4('198.51.100.8'))
      .build();
    expect(ok(parseDnsResponse(msg))).toEqual({
      name: 'api.stripe.com',
      answers: [
        { address: '198.51.100.7', ttlSeconds: 60 },
        { address: '198.51.100.8', ttlSeconds: 45 },
      ],
    });
  });

  it('follows a CNAME chain through compressed names, case-insensitively, in any record order', () => {
    const msg = new Message(RESPONSE, [1, 4, 0, 0])
      .question('www.example.com')
      .rr('EDGE.cdn.example.net', A, 20, v4('203.0.113.9'))
      .cname('www.example.com', 'alias.Example.com')
      .cname('alias.example.com', 'edge.cdn.example.net')
      .rr('unrelated.example.org', A, 20, v4('192.0.2.1'))
      .build();
    // The writer compressed the later names: the test reads pointers, not only plain labels.
    expect(msg.filter((b) => b >= 0xc0).length).toBeGreaterThan(3);
    expect(ok(parseDnsResponse(msg))).toEqual({
      name: 'www.example.com',
      answers: [{ address: '203.0.113.9', ttlSeconds: 20 }],
    });
  });

  it('reads AAAA records in canonical form, an IPv4-mapped one as IPv4', () => {
    const msg = new Message(RESPONSE, [1, 2, 0, 0])
      .question('db.example.com', AAAA)
      .rr('db.example.com', AAAA, 300, v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]))
      .rr('db.example.com', AAAA, 300, v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0207]))
      .build();
    expect(ok(parseDnsResponse(msg)).answers.map((a) => a.address)).toEqual(['2001:db8::1', '192.0.2.7']);
  });

  it('ignores records of other types, classes and owners, and walks authority and additional records', () => {
    const msg = new Message(RESPONSE, [1, 4, 1, 2])
      .question('svc.example.com')
      .rr('svc.example.com', TXT, 60, [3, 0x61, 0x62, 0x63])
      .rr('svc.example.com', A, 60, v4('192.0.2.1'), CH)
      .rr('other.example.com', A, 60, v4('192.0.2.2'))
      .rr('svc.example.com', A, 60, v4('192.0.2.3'))
      .rr('example.com', 2, 60, (m) => m.name('ns1.example.com'))
      .rr('ns1.example.com', A, 60, v4('192.0.2.53'))
      .rr('', 41, 0, []) // EDNS OPT
      .build();
    expect(ok(parseDnsResponse(msg)).answers).toEqual([{ address: '192.0.2.3', ttlSeconds: 60 }]);
  });

  it('accepts a response without answers (NODATA) and treats a TTL with the top bit set as 0', () => {
    const empty = new Message().question('nothing.example.com').build();
    expect(ok(parseDnsResponse(empty))).toEqual({ name: 'nothing.example.com', answers: [] });
    const msg = new Message(RESPONSE, [1, 1, 0, 0])
      .question('x.example.com')
      .rr('x.example.com', A, 0x80000001, v4('192.0.2.1'))
      .build();
    expect(ok(parseDnsResponse(msg)).answers[0]!.ttlSeconds).toBe(0);
  });

  it('stops a CNAME cycle and does not give the addresses of names outside the chain', () => {
    const msg = new Message(RESPONSE, [1, 3, 0, 0])
      .question('a.example.com')
      .cname('a.example.com', 'b.example.com')
      .cname('b.example.com', 'a.example.com')
      .rr('c.example.com', A, 60, v4('192.0.2.9'))
      .build();
    expect(ok(parseDnsResponse(msg)).answers).toEqual([]);
  });

  it('follows a long chain only so far', () => {
    const m = new Message(RESPONSE, [1, 41, 0, 0]).question('h0.example.com');
    for (let i = 0; i < 40; i++) m.cname(`h${i}.example.com`, `h${i + 1}.example.com`);
    m.rr('h40.example.com', A, 60, v4('192.0.2.40'));
    expect(ok(parseDnsResponse(m.build())).answers).toEqual([]);
    const short = new Message(RESPONSE, [1, 4, 0, 0]).question('h0.example.com');
    for (let i = 0; i < 3; i++) short.cname(`h${i}.example.com`, `h${i + 1}.example.com`);
    short.rr('h3.example.com', A, 60, v4('192.0.2.3'));
    expect(ok(parseDnsResponse(short.build())).answers).toEqual([{ address: '192.0.2.3', ttlSeconds: 60 }]);
  });

  it('accepts underscores and a name of 253 characters, and refuses 254', () => {
    const under = new Message().question('_service._tcp.example.com').build();
    expect(ok(parseDnsResponse(under)).name).toBe('_service._tcp.example.com');
    const label = 'a'.repeat(63);
    const longest = [label, label, label, 'b'.repeat(61)].join('.');
    expect(longest).toHaveLength(253);
    expect(ok(parseDnsResponse(new Message().question(longest).build())).name).toBe(longest);
    const tooLong = [label, label, label, 'b'.repeat(62)].join('.');
    expect(refusal(parseDnsResponse(new Message().question(tooLong).build()))).toBe('name');
  });
});

describe('parseDnsResponse: refused messages', () => {
  const good = () =>
    new Message(RESPONSE, [1, 1, 0, 0]).question('x.example.com').rr('x.example.com', A, 60, [1, 2, 3, 4]);

  it('refuses what is not a successful standard-query response', () => {
    expect(refusal(parseDnsResponse(good().build()))).toBe('accepted');
    const withFlags = (flags: number) => {
      const b = good().build();
      b[2] = flags >> 8;
      b[3] = flags & 0xff;
      return refusal(parseDnsResponse(b));
    };
    expect(withFlags(0x0100)).toBe('not-a-response'); // QR = 0: a query
    expect(withFlags(0x8183)).toBe('rcode'); // NXDOMAIN
    expect(withFlags(0x8182)).toBe('rcode'); // SERVFAIL
    expect(withFlags(0x8380)).toBe('truncated'); // TC
    expect(withFlags(0x8980)).toBe('opcode'); // opcode 1 (IQUERY)
    expect(withFlags(0x85a0)).toBe('accepted'); // AA and AD change nothing
  });

  it('refuses anything but exactly one IN question for A or AAAA', () => {
    const two = new Message(RESPONSE, [2, 0, 0, 0]).question('a.example.com').question('b.example.com').build();
    expect(refusal(parseDnsResponse(two))).toBe('questions');
    expect(refusal(parseDnsResponse(new Message(RESPONSE, [0, 0, 0, 0]).build()))).toBe('questions');
    expect(refusal(parseDnsResponse(new Message().question('a.example.com', TXT).build()))).toBe('question-type');
    expect(refusal(parseDnsResponse(new Message().question('a.example.com', A, CH).build()))).toBe('question-type');
  });

  it('refuses a question name that is no hostname', () => {
    expect(refusal(parseDnsResponse(new Message().question('').build()))).toBe('name');
    expect(refusal(parseDnsResponse(new Message().question('a b.example.com').build()))).toBe('name');
    expect(refusal(parseDnsResponse(new Message().question('evil\u0000.example.com').build()))).toBe('name');
    const dotInLabel = new Message().raw(3, 0x61, 0x2e, 0x62, 3, 0x63, 0x6f, 0x6d, 0).u16(A).u16(IN).build();
    expect(refusal(parseDnsResponse(dotInLabel))).toBe('name');
    // A label length of 64 is the reserved label type 0x40; 0x80 is reserved as well.
    for (const len of [64, 0x80]) {
      const long = new Message()
        .raw(len, ...new Array<number>(len).fill(0x61), 0)
        .u16(A)
        .u16(IN)
        .build();
      expect(refusal(parseDnsResponse(long))).toBe('name');
    }
  });

  it('refuses a pointer loop, a pointer to itself and a pointer ahead', () => {
    // 12: "a", then a pointer back to 12: the name would repeat forever.
    const loop = new Message().raw(1, 0x61, 0xc0, 12).u16(A).u16(IN).build();
    expect(refusal(parseDnsResponse(loop))).toBe('pointer-loop');
    const self = new Message().raw(0xc0, 12).u16(A).u16(IN).build();
    expect(refusal(parseDnsResponse(self))).toBe('pointer-loop');
    const ahead = new Message().raw(0xc0, 18).u16(A).u16(IN).raw(1, 0x61, 0).build();
    expect(refusal(parseDnsResponse(ahead))).toBe('pointer-forward');
    // Two names pointing at each other: the answer's owner points at the question's
    // pointer, which points into the answer.
    const mutual = new Message(RESPONSE, [1, 1, 0, 0]).raw(1, 0x61, 0xc0, 20).u16(A).u16(IN);
    mutual.raw(1, 0x62, 0xc0, 12).u16(A).u16(IN).u32(60).u16(4).raw(1, 2, 3, 4);
    expect(refusal(parseDnsResponse(mutual.build()))).toBe('pointer-forward');
  });

  it('refuses a staircase of more pointers than a name needs', () => {
    // Each TXT owner is "a" and a pointer to the owner before it: reading the n-th takes
    // n - 1 jumps, each one backwards, so only the jump count stops it.
    const m = new Message(RESPONSE, [1, 41, 0, 0]).question('x.example.com');
    let previous = m.at;
    m.raw(1, 0x61, 0).u16(TXT).u16(IN).u32(0).u16(0);
    for (let i = 1; i < 40; i++) {
      const here = m.at;
      m.raw(1, 0x61, 0xc0 | (previous >> 8), previous & 0xff)
        .u16(TXT)
        .u16(IN)
        .u32(0)
        .u16(0);
      previous = here;
    }
    m.raw(0xc0 | (previous >> 8), previous & 0xff)
      .u16(A)
      .u16(IN)
      .u32(60)
      .u16(4)
      .raw(1, 2, 3, 4);
    expect(refusal(parseDnsResponse(m.build()))).toBe('pointer-loop');
    // The same with 20 steps is a valid (odd) message.
    const fine = new Message(RESPONSE, [1, 20, 0, 0]).question('x.example.com');
    previous = fine.at;
    fine.raw(1, 0x61, 0).u16(TXT).u16(IN).u32(0).u16(0);
    for (let i = 1; i < 20; i++) {
      const here = fine.at;
      fine
        .raw(1, 0x61, 0xc0 | (previous >> 8), previous & 0xff)
        .u16(TXT)
        .u16(IN)
        .u32(0)
        .u16(0);
      previous = here;
    }
    expect(refusal(parseDnsResponse(fine.build()))).toBe('accepted');
  });

  it('refuses a record whose rdata runs past the end, and wrong rdata lengths', () => {
    const past = good().build();
    past[past.length - 5] = 200; // rdlength low byte: 200 bytes of rdata announced, 4 there
    expect(refusal(parseDnsResponse(past))).toBe('truncated');
    const shortA = new Message(RESPONSE, [1, 1, 0, 0]).question('x.example.com').rr('x.example.com', A, 60, [1, 2, 3]);
    expect(refusal(parseDnsResponse(shortA.build()))).toBe('rdlength');
    const longAaaa = new Message(RESPONSE, [1, 1, 0, 0])
      .question('x.example.com', AAAA)
      .rr('x.example.com', AAAA, 60, new Array<number>(17).fill(1));
    expect(refusal(parseDnsResponse(longAaaa.build()))).toBe('rdlength');
    // A CNAME whose name does not fill its rdata exactly.
    const cname = new Message(RESPONSE, [1, 1, 0, 0])
      .question('x.example.com')
      .rr('x.example.com', CNAME, 60, (m) => m.name('y.example.com').raw(0));
    expect(refusal(parseDnsResponse(cname.build()))).toBe('rdlength');
  });

  it('refuses a message cut anywhere before its last section ends, and the empty payload', () => {
    const full = new Message(RESPONSE, [1, 2, 1, 1])
      .question('x.example.com')
      .cname('x.example.com', 'y.example.net')
      .rr('y.example.net', A, 60, [1, 2, 3, 4])
      .rr('example.net', 2, 60, (m) => m.name('ns.example.net'))
      .rr('', 41, 0, [])
      .build();
    expect(refusal(parseDnsResponse(full))).toBe('accepted');
    for (let cut = 0; cut < full.length; cut++) {
      expect(refusal(parseDnsResponse(full.subarray(0, cut))), `cut at ${cut}`).toBe('truncated');
    }
    // Counts that promise more records than the payload holds.
    const promised = new Message(RESPONSE, [1, 3, 0, 0])
      .question('x.example.com')
      .rr('x.example.com', A, 60, [1, 2, 3, 4]);
    expect(refusal(parseDnsResponse(promised.build()))).toBe('truncated');
  });
});

describe('parseDnsResponse: hostile bytes', () => {
  // mulberry32: a seeded generator, so a failure reproduces.
  function random(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const known = new Set<string>(DNS_PARSE_ERRORS);

  it('never throws on random buffers, and refuses with a known reason', () => {
    const next = random(1035);
    for (let i = 0; i < 500; i++) {
      const len = Math.floor(next() * 513);
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(next() * 256);
      // Most random headers fail early; make half of them look like a plain response.
      if (i % 2 === 0 && len >= 12) b.set([0x81, 0x80, 0, 1], 2);
      const p = parseDnsResponse(b);
      if (!p.ok) expect(known, `buffer ${i}`).toContain(p.error);
    }
  });

  it('never throws on mutations of a valid response, and what it accepts is well-formed', () => {
    const base = new Message(RESPONSE, [1, 3, 1, 1])
      .question('www.example.com')
      .cname('www.example.com', 'edge.example.net')
      .rr('edge.example.net', A, 60, [192, 0, 2, 1])
      .rr('edge.example.net', AAAA, 60, v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]))
      .rr('example.net', 2, 60, (m) => m.name('ns.example.net'))
      .rr('ns.example.net', A, 60, [192, 0, 2, 53])
      .build();
    expect(ok(parseDnsResponse(base)).answers).toHaveLength(2);
    const next = random(53);
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const b = base.slice();
      const edits = 1 + Math.floor(next() * 4);
      for (let e = 0; e < edits; e++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
      const p = parseDnsResponse(b);
      if (!p.ok) {
        expect(known).toContain(p.error);
        continue;
      }
      accepted++;
      expect(p.response.name).toMatch(/^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$/);
      for (const a of p.response.answers) expect(a.address).toMatch(/^(\d{1,3}\.){3}\d{1,3}$|:/);
    }
    // Mutations that only touch ids, TTLs and addresses keep the message valid.
    expect(accepted).toBeGreaterThan(100);
  });
});
