import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logger.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { eventFromJsonLine, eventToJsonLine } from '../../../agent/transport/event-json.js';
import { createPrintTransport } from '../../../agent/transport/print-transport.js';
import { outgoing } from '../../helpers/outgoing.js';

const listen: TriplineEvent = {
  kind: 'listen',
  timeNs: 1_764_000_000_000_000_000,
  node: 'n1',
  seq: 3,
  container: {
    ...unresolvedContainer(12),
    workload: { cluster: 'c', namespace: 'ns', kind: 'Deployment', name: 'api', container: 'app' },
  },
  process: { pid: 5, ppid: 1, uid: 33, exe: '/usr/sbin/nginx', comm: 'nginx', argv: [] },
  protocol: 'tcp',
  ip: '::',
  port: 8080,
};

describe('print transport', () => {
  it('writes one replayable JSON line per envelope', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const t = createPrintTransport({ out, log: silentLogger() });
    const env = outgoing(listen);
    expect(t.send({ node: listen.node, envelopes: [env, env] })).toEqual({ status: 'success' });
    await new Promise((r) => setImmediate(r));
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const back = eventFromJsonLine(lines[0]!);
    expect(back.ok && back.event).toMatchObject({
      kind: 'listen',
      ip: '::',
      port: 8080,
      seq: 3,
      container: { workload: { name: 'api' } },
    });
  });

  it('pushes back while its output is not draining', () => {
    const slow = new Writable({ highWaterMark: 1, write: (_c, _e, _cb) => {} });
    slow.write('x');
    const t = createPrintTransport({ out: slow, log: silentLogger() });
    expect(t.send({ node: 'n', envelopes: [] }).status).toBe('retryable');
  });
});

describe('event JSON lines', () => {
  it('survives bigints and rejects lines that are not events', () => {
    const withBig = { ...listen, extra: 10n } as unknown as TriplineEvent;
    expect(JSON.parse(eventToJsonLine(withBig)).extra).toBe('10');
    expect(eventFromJsonLine('{"kind":"exec"}').ok).toBe(false);
    expect(eventFromJsonLine('{"kind":"teleport","container":{"cgroupId":1}}').ok).toBe(false);
    expect(eventFromJsonLine('not json').ok).toBe(false);
    expect(eventFromJsonLine(eventToJsonLine(listen))).toEqual({
      ok: true,
      event: JSON.parse(eventToJsonLine(listen)),
    });
  });
});
