import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { startAgent } from '../../../agent/main.js';
import { createReplaySensor } from '../../../agent/sensors/replay/replay-sensor.js';
import { eventFromJsonLine, eventToJsonLine } from '../../../agent/transport/event-json.js';
import { createPrintTransport } from '../../../agent/transport/print-transport.js';
import { createCgroupSandbox } from '../../helpers/cgroup.js';
import { startIngestServer } from '../../helpers/ingest-server.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'tripline-agent-'));
const sandbox = createCgroupSandbox();
afterAll(async () => {
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function exec(cgroupId: number, exe: string): TriplineEvent {
  return {
    kind: 'exec',
    timeNs: Date.now() * 1e6,
    node: '',
    seq: 0,
    container: unresolvedContainer(cgroupId),
    process: { pid: 4242, ppid: 1, uid: 0, exe, comm: exe.split('/').pop()!, argv: [exe, '--flag'] },
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  };
}

describe('the agent, composed', () => {
  it('resolves replayed events against real cgroups, prints them, and the printed output replays to a collector', async () => {
    const cg = sandbox.container('containerd');
    const recording = join(dir, 'raw.jsonl');
    const lines = ['/usr/bin/curl', '/bin/sh', '/usr/bin/curl', '/usr/bin/wget'].map((exe) =>
      eventToJsonLine(exec(cg.id, exe)),
    );
    writeFileSync(recording, [...lines, 'this line is not an event', ''].join('\n'));

    // 1. Replay the raw recording with --print: identity filled from the real cgroup.
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d.toString()));
    const problems = new Problems();
    const config = parseAgentConfig({ node: 'node-1', cluster: 'lab', metricsListen: '127.0.0.1:0' }, problems);
    expect(problems.all).toEqual([]);
    const sensor = createReplaySensor({ path: recording, log: silentLogger() });
    const registry = new Registry();
    const agent = await startAgent(config, {
      log: silentLogger(),
      registry,
      sensor,
      transport: createPrintTransport({ out, log: silentLogger() }),
    });
    try {
      expect(await sensor.finished).toEqual({ emitted: 4, invalid: 1 });
      const metricsText = await (await fetch(`http://${agent.metricsAddress}/metrics`)).text();
      expect(metricsText).toContain('tripline_agent_events_total{kind="exec"} 4');
      expect(metricsText).toContain('tripline_agent_events_deduplicated_total{kind="exec"} 1');
    } finally {
      await agent.stop();
    }
    const printedEvents = printed
      .trim()
      .split('\n')
      .map((l) => {
        const r = eventFromJsonLine(l);
        if (!r.ok) throw new Error(r.error);
        return r.event;
      });
    expect(printedEvents.map((e) => [e.seq, e.node, e.process.exe])).toEqual([
      [1, 'node-1', '/usr/bin/curl'],
      [2, 'node-1', '/bin/sh'],
      [3, 'node-1', '/usr/bin/wget'],
    ]);
    expect(printedEvents[0]!.container).toMatchObject({
      cgroupId: cg.id,
      cgroupPath: cg.path,
      containerId: cg.containerId,
      podUid: cg.podUid,
      workload: { cluster: 'lab', namespace: '', kind: 'Pod', name: cg.podUid, container: cg.containerId.slice(0, 12) },
    });

    // 2. Replay the printed output to a real ingest server: the recorded identity is kept.
    const printedFile = join(dir, 'printed.jsonl');
    writeFileSync(printedFile, printed);
    const server = await startIngestServer({ token: 't0k3n' });
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 't0k3n\n');
    try {
      const p2 = new Problems();
      const cfg2 = parseAgentConfig(
        {
          node: 'node-2',
          cluster: 'lab',
          collector: { address: server.address, tokenFile },
          spool: { dir: join(dir, 'spool') },
          pipeline: { reportInterval: '100ms', batchMaxDelay: '10ms' },
        },
        p2,
      );
      expect(p2.all).toEqual([]);
      const replay = createReplaySensor({ path: printedFile, log: silentLogger() });
      const agent2 = await startAgent(cfg2, {
        log: silentLogger(),
        registry: new Registry(),
        sensor: replay,
        serveMetrics: false,
      });
      try {
        await replay.finished;
        await waitFor(() => server.events().length === 3, { what: 'the replayed events at the collector' });
        await waitFor(() => server.batches.some((b) => b.report?.containers.some((c) => c.cgroupId === cg.id)), {
          what: 'a report',
        });
      } finally {
        await agent2.stop();
      }
      const got = server.events();
      expect(got.map((e) => e.process.exe)).toEqual(['/usr/bin/curl', '/bin/sh', '/usr/bin/wget']);
      expect(got.every((e) => e.node === 'node-2' && e.container.workload?.name === cg.podUid)).toBe(true);
      expect(server.batches.every((b) => b.authorization === 'Bearer t0k3n')).toBe(true);
      const reported = server.batches
        .flatMap((b) => b.report?.containers ?? [])
        .filter((c) => c.cgroupId === cg.id)
        .flatMap((c) => c.counts);
      expect(reported.reduce((n, k) => n + k.sent, 0)).toBe(3);
    } finally {
      await server.stop();
    }
    expect(readFileSync(printedFile, 'utf8')).toBe(printed);
  });

  it('refuses to start without a collector address or another transport', async () => {
    const config = parseAgentConfig({ metricsListen: '127.0.0.1:0' }, new Problems());
    const sensor = createReplaySensor({ path: '/dev/null', log: silentLogger() });
    await expect(startAgent(config, { log: silentLogger(), registry: new Registry(), sensor })).rejects.toThrow(
      /collector.address/,
    );
  });
  it('counts queue_full drops while the collector is down and reports them when it is back', async () => {
    const server = await startIngestServer();
    await server.stop();
    const recording = join(dir, 'burst.jsonl');
    writeFileSync(
      recording,
      Array.from({ length: 3000 }, (_, i) => eventToJsonLine(exec(1, `/opt/tool-${i}`))).join('\n'),
    );
    const config = parseAgentConfig(
      {
        collector: { address: server.address, maxInflightBatches: 1, initialBackoff: '20ms', maxBackoff: '100ms' },
        spool: { dir: '' },
        pipeline: { queueSize: 64, batchMaxEvents: 16, reportInterval: '200ms', podWait: 0 },
      },
      new Problems(),
    );
    const registry = new Registry();
    const sensor = createReplaySensor({ path: recording, log: silentLogger() });
    const agent = await startAgent(config, { log: silentLogger(), registry, sensor, serveMetrics: false });
    try {
      await sensor.finished;
      const droppedText = await registry.getSingleMetricAsString('tripline_agent_events_dropped_total');
      const dropped = Number(/reason="queue_full"} (\d+)/.exec(droppedText)?.[1] ?? 0);
      // 3000 events into a 64-event queue behind a 16-event window: nearly all are dropped, none silently.
      expect(dropped).toBeGreaterThan(2000);
      await server.start();
      const reportedDrops = () =>
        server.batches
          .flatMap((b) => b.report?.containers ?? [])
          .flatMap((c) => c.drops)
          .filter((d) => d.reason === 'queue_full')
          .reduce((n, d) => n + d.count, 0);
      await waitFor(() => reportedDrops() === dropped, { timeoutMs: 10_000, what: 'the drops in a report' });
      await waitFor(() => server.events().length === 3000 - dropped, { timeoutMs: 10_000, what: 'every queued event' });
    } finally {
      await agent.stop();
      await server.stop();
    }
  });
});
