/**
 * The inverse of incidentJson: an Incident from its public JSON form, as the dead-letter
 * file stores it. Input comes from a file an operator may have edited, so every field is
 * checked and every problem is listed; unknown fields are ignored (the schema only ever
 * gains fields). The result is a value, never a throw: one bad line must not stop a resend.
 */
import { EVENT_KINDS, FILE_OPS, workloadKey, type TriplineEvent, type WorkloadRef } from '../../../proto/events.js';
import { RULE_IDS, SEVERITIES, type Incident, type RuleId, type Severity } from '../../../proto/incident.js';

export type ParsedIncident =
  { readonly ok: true; readonly incident: Incident } | { readonly ok: false; readonly problems: readonly string[] };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads typed fields of one JSON object, recording a problem (with its path) per bad field. */
class FieldReader {
  constructor(
    private readonly obj: Json,
    private readonly path: string,
    private readonly problems: string[],
  ) {}

  private bad(name: string, expected: string): void {
    this.problems.push(`${this.path}${name}: expected ${expected}`);
  }

  string(name: string, opts: { nonEmpty?: boolean } = {}): string {
    const v = this.obj[name];
    if (typeof v === 'string' && (!opts.nonEmpty || v !== '')) return v;
    this.bad(name, opts.nonEmpty ? 'a non-empty string' : 'a string');
    return '';
  }

  /** The field as it is, unchecked. */
  raw(name: string): unknown {
    return this.obj[name];
  }

  boolean(name: string): boolean {
    const v = this.obj[name];
    if (typeof v === 'boolean') return v;
    this.bad(name, 'true or false');
    return false;
  }

  integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[name];
    if (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max) return v as number;
    this.bad(name, `an integer from ${min} to ${max}`);
    return min;
  }

  number(name: string, min: number, max: number): number {
    const v = this.obj[name];
    if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) return v;
    this.bad(name, `a number from ${min} to ${max}`);
    return min;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.obj[name];
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.bad(name, `one of ${allowed.join(', ')}`);
    return allowed[0]!;
  }

  strings(name: string): string[] {
    const v = this.obj[name];
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return [...(v as string[])];
    this.bad(name, 'an array of strings');
    return [];
  }

  integers(name: string): number[] {
    const v = this.obj[name];
    if (Array.isArray(v) && v.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return [...(v as number[])];
    this.bad(name, 'an array of non-negative integers');
    return [];
  }

  /** An ISO 8601 timestamp, as milliseconds since the epoch. */
  time(name: string): number {
    const v = this.obj[name];
    const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (Number.isFinite(ms)) return ms;
    this.bad(name, 'an ISO 8601 timestamp');
    return 0;
  }

  /** A nested object's reader; a missing or non-object field reads as empty (and is reported). */
  object(name: string): FieldReader {
    const v = this.obj[name];
    if (isObject(v)) return new FieldReader(v, `${this.path}${name}.`, this.problems);
    this.bad(name, 'an object');
    return new FieldReader({}, `${this.path}${name}.`, []);
  }
}

/** evidence → TriplineEvent; `workload` fills container.workload, which eventJson leaves out. */
function readEvidence(e: FieldReader, workload: WorkloadRef, problems: string[]): TriplineEvent | undefined {
  const kind = e.oneOf('kind', EVENT_KINDS);
  const nanos = e.string('timeUnixNano');
  // A decimal string: nanoseconds since the epoch exceed the exact range of JSON numbers.
  let timeNs = 0;
  if (/^\d{1,20}$/.test(nanos)) timeNs = Number(BigInt(nanos));
  else if (nanos !== '') problems.push('evidence.timeUnixNano: expected a decimal string of nanoseconds');
  const c = e.object('container');
  const p = e.object('process');
  const header = {
    timeNs,
    node: e.string('node'),
    seq: e.integer('seq', 0),
    container: {
      cgroupId: c.integer('cgroupId', 0),
      cgroupPath: c.string('cgroupPath'),
      containerId: c.string('containerId'),
      podUid: c.string('podUid'),
      workload,
      image: c.string('image'),
      imageDigest: c.string('imageDigest'),
      privileged: c.boolean('privileged'),
    },
    process: {
      pid: p.integer('pid', 0),
      ppid: p.integer('ppid', 0),
      uid: p.integer('uid', 0),
      exe: p.string('exe'),
      comm: p.string('comm'),
      argv: p.strings('argv'),
    },
  };
  // An unknown kind has no fields to check beyond the header; its problem is already listed.
  if (!(EVENT_KINDS as readonly unknown[]).includes(e.raw('kind'))) return undefined;
  switch (kind) {
    case 'exec':
      return {
        ...header,
        kind,
        argvTruncated: e.boolean('argvTruncated'),
        cwd: e.string('cwd'),
        writtenByContainer: e.boolean('writtenByContainer'),
      };
    case 'syscalls': {
      const numbers = e.integers('numbers');
      const names = e.strings('names');
      if (numbers.length !== names.length) problems.push('evidence.names: expected as many names as numbers');
      return { ...header, kind, numbers, names, arch: e.string('arch') };
    }
    case 'file':
      return {
        ...header,
        kind,
        op: e.oneOf('op', FILE_OPS),
        path: e.string('path'),
        oldPath: e.string('oldPath'),
        flags: e.integer('flags', 0),
        resolved: e.boolean('resolved'),
      };
    case 'listen':
    case 'connect': {
      const socket = {
        ...header,
        protocol: e.oneOf('protocol', ['tcp', 'udp'] as const),
        ip: e.string('ip'),
        port: e.integer('port', 0, 65535),
      };
      if (kind === 'listen') return { ...socket, kind };
      // Absent from incidents written before connects carried names (dead letters).
      return { ...socket, kind, dnsName: e.raw('dnsName') === undefined ? '' : e.string('dnsName') };
    }
  }
}

/** Parses one incident in its public JSON form (docs/incident-format.md). */
export function parseIncidentJson(value: unknown): ParsedIncident {
  if (!isObject(value)) return { ok: false, problems: ['incident: expected an object'] };
  const problems: string[] = [];
  const r = new FieldReader(value, '', problems);
  if (value.schema !== 'tripline.incident/v1') problems.push('schema: expected "tripline.incident/v1"');
  const id = r.string('id', { nonEmpty: true });
  const revision = r.integer('revision', 1);
  if (id !== '' && value.idempotencyKey !== `${id}:${revision}`)
    problems.push(`idempotencyKey: expected "${id}:${revision}" (id:revision)`);
  const w = r.object('workload');
  const workload: WorkloadRef = {
    cluster: w.string('cluster'),
    namespace: w.string('namespace'),
    kind: w.string('kind'),
    name: w.string('name'),
    container: w.string('container'),
  };
  const key = workloadKey(workload);
  if (isObject(value.workload) && value.workload.key !== key)
    problems.push(`workload.key: expected "${key}" (cluster/namespace/kind/name/container)`);
  const mitre = r.object('mitre');
  const incident = {
    id,
    revision,
    rule: r.oneOf<RuleId>('rule', RULE_IDS),
    severity: r.oneOf<Severity>('severity', SEVERITIES),
    score: r.number('score', 0, 100),
    workload,
    workloadKey: key,
    key: r.string('key'),
    summary: r.string('summary'),
    mitreTechniques: mitre.strings('techniques'),
    mitreTactics: mitre.strings('tactics'),
    count: r.integer('count', 1),
    firstSeenMs: r.time('firstSeen'),
    lastSeenMs: r.time('lastSeen'),
    context: r.strings('context'),
  };
  const evidence = readEvidence(r.object('evidence'), workload, problems);
  if (problems.length || !evidence) return { ok: false, problems };
  return { ok: true, incident: { ...incident, evidence } };
}
