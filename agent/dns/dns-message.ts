/**
 * The DNS responses a container receives (RFC 1035 wire format), read so that a later
 * connect to an answered address can carry the name the container asked for. The payload
 * is whatever reached the container on source port 53, so it is hostile input: the parser
 * never throws and never reads past the payload, and a refusal says why in a short constant
 * string fit for a bounded metric label (DNS_PARSE_ERRORS).
 *
 * Strict on purpose. The kernel copies at most 1232 bytes, so a longer response arrives cut;
 * every section must end inside the payload, and a response the server itself marked
 * truncated (TC) is refused too: half a response must not name anything.
 */
import { formatIp } from '../sensors/ebpf/ip-text.js';

export interface DnsAnswer {
  /** The answered address, spelt as the connect events spell peers (formatIp). */
  readonly address: string;
  /** The record's TTL; values with the top bit set count as 0 (RFC 2181 §8). */
  readonly ttlSeconds: number;
}

export interface DnsResponse {
  /** The question name, lower-cased, without the trailing dot. */
  readonly name: string;
  /** A and AAAA records for the name or the names its CNAME chain leads to; may be empty. */
  readonly answers: readonly DnsAnswer[];
}

export type DnsParse =
  { readonly ok: true; readonly response: DnsResponse } | { readonly ok: false; readonly error: DnsParseError };

/** Every error parseDnsResponse returns, for metrics that count refusals by reason. */
export const DNS_PARSE_ERRORS = [
  'truncated',
  'not-a-response',
  'opcode',
  'rcode',
  'questions',
  'question-type',
  'name',
  'pointer-forward',
  'pointer-loop',
  'rdlength',
] as const;

export type DnsParseError = (typeof DNS_PARSE_ERRORS)[number];

const HEADER_BYTES = 12;
const FIXED_RR_BYTES = 10; // type, class, ttl, rdlength
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
// Pointers can only move strictly backwards (below), so they cannot loop; the cap keeps a
// crafted staircase of pointers from costing more than a real name ever needs.
const MAX_POINTER_JUMPS = 32;
// Real chains are a few hops (CDN aliases); the cap bounds the work on a crafted one.
const MAX_CNAME_HOPS = 16;
const MAX_NAME_WIRE_BYTES = 255; // RFC 1035 §3.1; 253 characters in text form

/** A name read from the message; `text` is undefined when it is no hostname (unmatchable). */
type NameRead =
  | { readonly ok: true; readonly end: number; readonly text: string | undefined; readonly labels: number }
  | { readonly ok: false; readonly error: DnsParseError };

interface RecordRead {
  readonly owner: string | undefined;
  readonly type: number;
  readonly cls: number;
  readonly ttl: number;
  readonly rdStart: number;
  readonly rdLength: number;
  /** The CNAME target, for CNAME records of class IN. */
  readonly target: string | undefined;
}

const fail = (error: DnsParseError): { readonly ok: false; readonly error: DnsParseError } => ({ ok: false, error });

/** Parses one DNS response; never throws. */
export function parseDnsResponse(payload: Uint8Array): DnsParse {
  const msg = payload;
  if (msg.length < HEADER_BYTES) return fail('truncated');
  const flags = u16(msg, 2);
  if ((flags & 0x8000) === 0) return fail('not-a-response');
  if (((flags >> 11) & 0xf) !== 0) return fail('opcode');
  if ((flags & 0x0200) !== 0) return fail('truncated');
  if ((flags & 0xf) !== 0) return fail('rcode');
  if (u16(msg, 4) !== 1) return fail('questions');
  const anCount = u16(msg, 6);
  const otherCount = u16(msg, 8) + u16(msg, 10);

  const q = readName(msg, HEADER_BYTES);
  if (!q.ok) return q;
  if (q.text === undefined || q.labels === 0) return fail('name');
  if (q.end + 4 > msg.length) return fail('truncated');
  const qType = u16(msg, q.end);
  if ((qType !== TYPE_A && qType !== TYPE_AAAA) || u16(msg, q.end + 2) !== CLASS_IN) return fail('question-type');
  let pos = q.end + 4;

  const answers: RecordRead[] = [];
  for (let i = 0; i < anCount; i++) {
    const r = readRecord(msg, pos);
    if (!r.ok) return r;
    answers.push(r.record);
    pos = r.end;
  }
  // Authority and additional records name nothing here, but must be whole: a payload cut
  // inside them is a response cut at the kernel's copy size, and its answer section may be cut as well.
  for (let i = 0; i < otherCount; i++) {
    const r = readRecord(msg, pos);
    if (!r.ok) return r;
    pos = r.end;
  }

  const names = cnameChain(q.text, answers);
  const out: DnsAnswer[] = [];
  for (const r of answers) {
    if ((r.type !== TYPE_A && r.type !== TYPE_AAAA) || r.cls !== CLASS_IN) continue;
    if (r.owner === undefined || !names.includes(r.owner)) continue;
    out.push({ address: formatIp(msg.subarray(r.rdStart, r.rdStart + r.rdLength)), ttlSeconds: r.ttl });
  }
  return { ok: true, response: { name: q.text, answers: out } };
}

/** The question name and the names its CNAME chain in the answer section leads to. */
function cnameChain(question: string, answers: readonly RecordRead[]): string[] {
  const names = [question];
  let current = question;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const alias = answers.find(
      (r) => r.type === TYPE_CNAME && r.cls === CLASS_IN && r.owner === current && r.target !== undefined,
    );
    if (!alias || names.includes(alias.target!)) break;
    current = alias.target!;
    names.push(current);
  }
  return names;
}

type RecordResult =
  | { readonly ok: true; readonly record: RecordRead; readonly end: number }
  | { readonly ok: false; readonly error: DnsParseError };

function readRecord(msg: Uint8Array, start: number): RecordResult {
  const owner = readName(msg, start);
  if (!owner.ok) return owner;
  const fixed = owner.end;
  if (fixed + FIXED_RR_BYTES > msg.length) return fail('truncated');
  const type = u16(msg, fixed);
  const cls = u16(msg, fixed + 2);
  const rawTtl = u16(msg, fixed + 4) * 0x10000 + u16(msg, fixed + 6);
  const rdLength = u16(msg, fixed + 8);
  const rdStart = fixed + FIXED_RR_BYTES;
  const end = rdStart + rdLength;
  if (end > msg.length) return fail('truncated');
  let target: string | undefined;
  if (cls === CLASS_IN) {
    if ((type === TYPE_A && rdLength !== 4) || (type === TYPE_AAAA && rdLength !== 16)) return fail('rdlength');
    if (type === TYPE_CNAME) {
      const t = readName(msg, rdStart);
      if (!t.ok) return t;
      if (t.end !== end) return fail('rdlength');
      target = t.text;
    }
  }
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
  return { ok: true, record: { owner: owner.text, type, cls, ttl, rdStart, rdLength, target }, end };
}

/**
 * Reads a possibly compressed name starting at `start`. Each pointer must land before
 * the start of the stretch of labels it ends, so the jumps go strictly backwards and
 * cannot loop: a compressor only ever refers back to names it wrote before. A pointer
 * into the name being read (or at itself) is a loop; one pointing ahead is refused too.
 */
function readName(msg: Uint8Array, start: number): NameRead {
  let pos = start;
  let limit = start;
  let end = -1;
  let jumps = 0;
  let wireBytes = 1;
  let labels = 0;
  let text: string | undefined = '';
  for (;;) {
    if (pos >= msg.length) return fail('truncated');
    const len = msg[pos]!;
    if (len === 0) break;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= msg.length) return fail('truncated');
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target > pos) return fail('pointer-forward');
      if (target >= limit || ++jumps > MAX_POINTER_JUMPS) return fail('pointer-loop');
      pos = limit = target;
      continue;
    }
    // 0x40 and 0x80 are the retired extended and reserved label types; a label "longer
    // than 63" can only be spelt as one of them.
    if (kind !== 0) return fail('name');
    if (pos + 1 + len > msg.length) return fail('truncated');
    wireBytes += len + 1;
    if (wireBytes > MAX_NAME_WIRE_BYTES) return fail('name');
    if (text !== undefined) text = appendLabel(text, msg, pos + 1, len);
    labels++;
    pos += 1 + len;
  }
  if (end < 0) end = pos + 1;
  return { ok: true, end, text, labels };
}

/** `text` with the label appended, lower-cased; undefined when it is no hostname label. */
function appendLabel(text: string, msg: Uint8Array, from: number, len: number): string | undefined {
  let label = '';
  for (let i = from; i < from + len; i++) {
    let c = msg[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok) return undefined;
    label += String.fromCharCode(c);
  }
  return text.length === 0 ? label : `${text}.${label}`;
}

function u16(msg: Uint8Array, at: number): number {
  return (msg[at]! << 8) | msg[at + 1]!;
}
