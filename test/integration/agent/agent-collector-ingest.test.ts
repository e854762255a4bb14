import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { startAgent } from '../../../agent/main.js';
import { createReplaySensor } from '../../../agent/sensors/replay/replay-sensor.js';
import { eventToJsonLine } from '../../../agent/transport/event-json.js';
import { AGENT_TOKEN, startIngest } from '../ingest/ingest-harness.js';
import { waitFor } from '../../helpers/wait.js';

// The agent against the collector's real ingest server (not the test stand-in): the
// stream contract both sides implement has to agree.
const dir = mkdtempSync(join(tmpdir(), 'tripline-agent-collector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recording(name: string, exes: string[]): string {
  const path = join(dir, name);
  const lines = exes.map((exe, i) => {
    const e: TriplineEvent = {
      kind: 'file',
      timeNs: Date.now() * 1e6,
      node: '',
      seq: 0,
      container: {
        ...unresolvedContainer(500 + i),
        cgroupPath: '/system.slice/app.service',
        workload: { cluster: 'lab', namespace: '', kind: 'cgroup', name: 'system.slice/app.service', container: '' },
      },
      process: { pid: 10, ppid: 1, uid: 0, exe: '/usr/bin/app', comm: 'app', argv: [] },
      op: 'open-write',
      path: exe,
      oldPath: '',
      flags: 0o1101,
      resolved: true,
    };
    return eventToJsonLine(e);
  });
  writeFileSync(path, lines.join('\n'));
  return path;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function agentConfig(address: string, spoolDir: string) {
  const problems = new Problems();
  const c = parseAgentConfig(
    {
      node: 'node-c',
      cluster: 'lab',
      collector: { address, token: AGENT_TOKEN, initialBackoff: '20ms', maxBackoff: '200ms', maxInflightBatches: 2 },
      spool: { dir: spoolDir },
      pipeline: { batchMaxEvents: 10, batchMaxDelay: '10ms', reportInterval: '100ms' },
    },
    problems,
  );
  problems.throwIfAny();
  return c;
}

describe('agent → the collector’s ingest server', () => {
  it('delivers events and reports, and a restarted agent’s spooled batches are applied without rejections', async () => {
    const spoolDir = join(dir, 'spool');
    // Run 1: the collector is not there; everything lands in the window and the spool.
    const deadAddress = `127.0.0.1:${await freePort()}`;
    const run1 = createReplaySensor({
      path: recording(
        'run1.jsonl',
        Array.from({ length: 60 }, (_, i) => `/var/lib/app/old-${i}`),
      ),
      log: silentLogger(),
    });
    const agent1 = await startAgent(agentConfig(deadAddress, spoolDir), {
      log: silentLogger(),
      registry: new Registry(),
      sensor: run1,
      serveMetrics: false,
    });
    await run1.finished;
    await agent1.stop();

    // Run 2: a new agent run with the same spool, and the collector up.
    const ingest = await startIngest();
    try {
      const run2 = createReplaySensor({
        path: recording('run2.jsonl', ['/var/lib/app/new-0', '/var/lib/app/new-1']),
        log: silentLogger(),
      });
      const agent2 = await startAgent(agentConfig(`127.0.0.1:${ingest.port}`, spoolDir), {
        log: silentLogger(),
        registry: new Registry(),
        sensor: run2,
        serveMetrics: false,
      });
      try {
        await run2.finished;
        const applied = () =>
          ingest.intake.applied.flatMap((a) =>
            a.events.map((e) => ({ path: (e as { path: string }).path, run: a.source.agentRunId })),
          );
        await waitFor(() => applied().length >= 62, { timeoutMs: 15_000, what: 'both runs applied' });
        const paths = new Set(applied().map((a) => a.path));
        expect(paths.size).toBe(62);
        expect(
          new Set(
            applied()
              .filter((a) => a.path.includes('/new-'))
              .map((a) => a.run),
          ),
        ).toEqual(new Set([agent2.agentRunId]));
        expect(
          new Set(
            applied()
              .filter((a) => a.path.includes('/old-'))
              .map((a) => a.run),
          ).has(agent2.agentRunId),
        ).toBe(false);
        await waitFor(() => ingest.intake.reports.some((r) => r.source.agentRunId === agent2.agentRunId), {
          what: 'a report from run 2',
        });
        expect(await ingest.metric('tripline_collector_ingest_rejected_total')).toBe(0);
      } finally {
        await agent2.stop();
      }
    } finally {
      await ingest.server.stop(100);
    }
  });
});
