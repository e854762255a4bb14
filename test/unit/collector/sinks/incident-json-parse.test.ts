import { describe, expect, it } from 'vitest';
import { parseDeadLetterLine } from '../../../../collector/sinks/delivery/dead-letter-reader.js';
import { incidentJson } from '../../../../collector/sinks/formats/incident-json.js';
import { parseIncidentJson } from '../../../../collector/sinks/formats/incident-json-parse.js';
import type { TriplineEvent } from '../../../../proto/events.js';
import type { Incident } from '../../../../proto/incident.js';
import { connectIncident, execIncident, fileIncident } from '../../../integration/sinks/incident-fixture.js';

/** The incident as the dead-letter file stores it: its public JSON, through text. */
function throughText(i: Incident): unknown {
  return JSON.parse(JSON.stringify(incidentJson(i)));
}

/** Sets (or, with undefined, deletes) the field at a dotted path of parsed JSON. */
function edit(json: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = json as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
}

function withEvidence(base: Incident, evidence: Partial<TriplineEvent>): Incident {
  return { ...base, evidence: { ...base.evidence, ...evidence } as TriplineEvent };
}

/** An incident whose evidence is another kind: the exec fixture's header with `fields`. */
function otherKind(base: Incident, fields: Record<string, unknown>): Incident {
  const { timeNs, node, seq, container, process } = base.evidence;
  return { ...base, evidence: { timeNs, node, seq, container, process, ...fields } as TriplineEvent };
}

const syscallsIncident = otherKind(execIncident({ rule: 'unexpected-syscall', key: 'ptrace' }), {
  kind: 'syscalls',
  numbers: [101, 272],
  names: ['ptrace', 'unshare'],
  arch: 'x86_64',
});
const listenIncident = otherKind(execIncident({ rule: 'new-listener', key: 'tcp/4444' }), {
  kind: 'listen',
  protocol: 'tcp',
  ip: '::',
  port: 4444,
});

describe('parseIncidentJson (the inverse of incidentJson)', () => {
  const cases: Array<[string, Incident]> = [
    ['exec', execIncident({ revision: 4, count: 17, context: ['tier:confidential', 'privileged'] })],
    ['connect', connectIncident()],
    ['file', fileIncident({ mitreTechniques: ['T1222', 'T1543'], mitreTactics: [] })],
    ['syscalls', syscallsIncident],
    ['listen', listenIncident],
  ];

  it.each(cases)('round-trips a realistic %s incident exactly', (_kind, incident) => {
    const parsed = parseIncidentJson(throughText(incident));
    expect(parsed).toEqual({ ok: true, incident });
    if (parsed.ok) expect(incidentJson(parsed.incident)).toEqual(incidentJson(incident));
  });

  it('keeps nanosecond times beyond the exact range of JSON numbers', () => {
    const timeNs = Number(1_795_644_855_123_456_789n);
    const incident = withEvidence(execIncident(), { timeNs });
    const parsed = parseIncidentJson(throughText(incident));
    expect(parsed.ok && parsed.incident.evidence.timeNs).toBe(timeNs);
  });

  it('ignores fields it does not know (the schema only gains fields)', () => {
    const json = { ...(throughText(execIncident()) as object), assignee: 'sec-team', ticket: { id: 7 } };
    expect(parseIncidentJson(json)).toEqual({ ok: true, incident: execIncident() });
  });

  it('lists every problem of a damaged incident, with its path', () => {
    const json = throughText(connectIncident()) as Record<string, unknown>;
    edit(json, 'schema', 'tripline.incident/v2');
    edit(json, 'revision', 0);
    edit(json, 'severity', 'urgent');
    edit(json, 'score', 140);
    edit(json, 'summary', undefined);
    edit(json, 'workload.namespace', 7);
    edit(json, 'mitre.techniques', ['T1071', 3]);
    edit(json, 'lastSeen', 'yesterday');
    edit(json, 'evidence.port', 70000);
    edit(json, 'evidence.timeUnixNano', 1.7e18);
    edit(json, 'evidence.container.privileged', 'no');
    edit(json, 'evidence.process.argv', 'sh -c id');
    const parsed = parseIncidentJson(json);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toEqual(
      expect.arrayContaining([
        'schema: expected "tripline.incident/v1"',
        'revision: expected an integer from 1 to 9007199254740991',
        'severity: expected one of info, low, medium, high, critical',
        'score: expected a number from 0 to 100',
        'summary: expected a string',
        'workload.namespace: expected a string',
        'mitre.techniques: expected an array of strings',
        'lastSeen: expected an ISO 8601 timestamp',
        'evidence.port: expected an integer from 0 to 65535',
        'evidence.timeUnixNano: expected a string',
        'evidence.container.privileged: expected true or false',
        'evidence.process.argv: expected an array of strings',
      ]),
    );
  });

  it('refuses an idempotency key or workload key that does not match the fields', () => {
    const json = throughText(execIncident()) as Record<string, unknown>;
    edit(json, 'idempotencyKey', `${String(json.id)}:9`);
    edit(json, 'workload.key', 'prod-eu/payments/Deployment/other/api');
    const parsed = parseIncidentJson(json);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problems).toEqual([
        `idempotencyKey: expected "${String(json.id)}:1" (id:revision)`,
        'workload.key: expected "prod-eu/payments/Deployment/checkout/api" (cluster/namespace/kind/name/container)',
      ]);
    }
  });

  it('refuses an unknown rule or evidence kind, and mismatched syscall lists', () => {
    const json = throughText(syscallsIncident) as Record<string, unknown>;
    edit(json, 'rule', 'made-up');
    edit(json, 'evidence.names', ['ptrace']);
    let parsed = parseIncidentJson(json);
    expect(!parsed.ok && parsed.problems).toEqual([
      expect.stringMatching(/^rule: expected one of unexpected-exec, /),
      'evidence.names: expected as many names as numbers',
    ]);
    edit(json, 'rule', 'unexpected-syscall');
    edit(json, 'evidence.kind', 'mount');
    parsed = parseIncidentJson(json);
    expect(!parsed.ok && parsed.problems).toEqual([
      'evidence.kind: expected one of exec, syscalls, file, listen, connect',
    ]);
  });

  it('refuses what is not an incident object at all', () => {
    expect(parseIncidentJson(null)).toEqual({ ok: false, problems: ['incident: expected an object'] });
    expect(parseIncidentJson([1])).toEqual({ ok: false, problems: ['incident: expected an object'] });
    const parsed = parseIncidentJson({ schema: 'tripline.incident/v1' });
    expect(!parsed.ok && parsed.problems).toEqual(
      expect.arrayContaining([
        'id: expected a non-empty string',
        'workload: expected an object',
        'evidence: expected an object',
      ]),
    );
  });
});

describe('parseDeadLetterLine', () => {
  const line = (o: Record<string, unknown>): string =>
    JSON.stringify({
      time: '2026-11-26T01:00:00.000Z',
      sink: 'soc',
      error: 'HTTP 400',
      attempts: 1,
      incident: incidentJson(execIncident()),
      ...o,
    });

  it('reads the line the dead-letter file writes', () => {
    expect(parseDeadLetterLine(line({}))).toEqual({
      ok: true,
      letter: {
        time: '2026-11-26T01:00:00.000Z',
        sink: 'soc',
        error: 'HTTP 400',
        attempts: 1,
        incident: execIncident(),
      },
    });
  });

  it('names every problem of a bad line instead of throwing', () => {
    expect(parseDeadLetterLine('{"time": "2026-11-26T01:00:00.000Z", "sink": "soc", "err')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^not JSON: /),
    });
    expect(parseDeadLetterLine('[]')).toEqual({ ok: false, reason: 'not a JSON object' });
    const bad = parseDeadLetterLine(
      line({ sink: '', attempts: 0, incident: { ...incidentJson(execIncident()), count: -1 } }),
    );
    expect(bad).toEqual({
      ok: false,
      reason:
        'sink: expected a non-empty string; attempts: expected an integer ≥ 1; incident.count: expected an integer from 1 to 9007199254740991',
    });
    expect(parseDeadLetterLine(line({ incident: 'x' }))).toEqual({ ok: false, reason: 'incident: expected an object' });
  });
});
