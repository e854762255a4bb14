import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { startAgent } from '../../../agent/main.js';
import { parseEbpfSensorConfig } from '../../../agent/sensors/ebpf/ebpf-sensor-config.js';
import { createEbpfSensor } from '../../../agent/sensors/ebpf/ebpf-sensor.js';
import { createCgroupSandbox } from '../../helpers/cgroup.js';
import { startIngestServer } from '../../helpers/ingest-server.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'tripline-agent-ebpf-'));
const sandbox = createCgroupSandbox();
afterAll(async () => {
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('the agent with the real eBPF sensor', () => {
  it('delivers a container’s exec to the collector with its container id and pod uid, repeats folded', async () => {
    const server = await startIngestServer({ token: 'e2e' });
    const problems = new Problems();
    const config = parseAgentConfig(
      {
        node: 'e2e-node',
        collector: { address: server.address, token: 'e2e' },
        spool: { dir: join(dir, 'spool') },
        pipeline: { batchMaxDelay: '20ms', reportInterval: '200ms', podWait: 0 },
      },
      problems,
    );
    const sensorProblems = new Problems();
    const sensorConfig = parseEbpfSensorConfig({ syscallFlushMs: 100, dropPollMs: 100 }, sensorProblems);
    expect([...problems.all, ...sensorProblems.all]).toEqual([]);
    const registry = new Registry();
    const sensor = createEbpfSensor({ config: sensorConfig, log: silentLogger(), registry });
    const agent = await startAgent(config, { log: silentLogger(), registry, sensor, serveMetrics: false });
    try {
      const cg = sandbox.container('crio');
      const r = await cg.run('/bin/sh', ['-c', '/bin/true; /bin/true; /bin/true']);
      expect(r.code).toBe(0);
      const trueExecs = () =>
        server
          .events()
          .filter((e) => e.kind === 'exec' && e.container.cgroupId === cg.id && e.process.exe.endsWith('/true'));
      const first = await waitFor(() => trueExecs()[0], {
        timeoutMs: 10_000,
        what: 'the exec of true at the collector',
      });
      expect(first.node).toBe('e2e-node');
      expect(first.container).toMatchObject({
        cgroupPath: cg.path,
        containerId: cg.containerId,
        podUid: cg.podUid,
        workload: { kind: 'Pod', name: cg.podUid, container: cg.containerId.slice(0, 12) },
      });
      // Three execs of the same binary in one container are one observation for the profile.
      const report = await waitFor(
        () =>
          server.batches
            .flatMap((b) => b.report?.containers ?? [])
            .find((c) => c.cgroupId === cg.id && c.counts.some((k) => k.kind === 'exec' && k.deduplicated >= 2)),
        { timeoutMs: 10_000, what: 'a report with the folded repeats' },
      );
      expect(report.workload?.name).toBe(cg.podUid);
      expect(trueExecs()).toHaveLength(1);
    } finally {
      await agent.stop();
      await server.stop();
    }
  });
});
