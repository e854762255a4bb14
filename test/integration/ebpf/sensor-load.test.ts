/**
 * Under load: an exec storm arrives complete, and an overflowing ring buffer is
 * accounted for event by event (delivered + counted drops = what happened).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroupSandbox } from '../../helpers/cgroup.js';
import { waitFor } from '../../helpers/wait.js';
import { startSensor, type SensorHarness } from './sensor-harness.js';

let harness: SensorHarness | undefined;
const sandbox = createCgroupSandbox();
const tmpDirs: string[] = [];

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
  await sandbox.cleanup();
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('load', () => {
  it('delivers every exec of a 2,000-exec storm', async () => {
    harness = await startSensor();
    const h = harness;
    const cg = sandbox.container('containerd');
    const n = 2000;
    const r = await cg.run('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`]);
    expect(r.code).toBe(0);
    const count = (): number => h.of(cg.id, 'exec').filter((e) => e.process.exe === '/bin/true').length;
    await waitFor(() => count() >= n, { timeoutMs: 20_000, what: `${n} exec events` });
    expect(count()).toBe(n);
    const drops = h.sensor.takeDrops().byCgroup.get(cg.id) ?? [];
    expect(drops).toEqual([]);
  });

  it('counts every record a tiny ring buffer drops, per cgroup and kind', async () => {
    // One page holds a few dozen short file records: the burst below must overflow it.
    harness = await startSensor({ ringBufferBytes: 4096 });
    const h = harness;
    const cg = sandbox.container('crio');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-drops-'));
    tmpDirs.push(dir);
    const target = path.join(dir, 'burst.txt');
    const n = 5000;
    // `: > f` is an open(O_WRONLY|O_CREAT|O_TRUNC) by the shell itself, no fork per write.
    const r = await cg.run('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do : > ${target}; i=$((i+1)); done`]);
    expect(r.code).toBe(0);

    const delivered = (): number => h.of(cg.id, 'file').filter((e) => e.path === target).length;
    let dropped = 0;
    await waitFor(
      () => {
        for (const d of h.sensor.takeDrops().byCgroup.get(cg.id) ?? []) {
          if (d.kind === 'file') {
            expect(d.reason).toBe('ringbuf_full');
            dropped += d.count;
          }
        }
        return delivered() + dropped >= n;
      },
      { timeoutMs: 20_000, what: 'delivered + dropped to account for the burst' },
    );
    expect(dropped).toBeGreaterThan(0);
    expect(delivered() + dropped).toBe(n);
    expect(h.sensor.stats().dropped.file).toBeGreaterThanOrEqual(dropped);
    const metrics = await h.registry.getSingleMetricAsString('tripline_agent_sensor_drops_total');
    expect(metrics).toMatch(/tripline_agent_sensor_drops_total\{kind="file",reason="ringbuf_full"\} [1-9]/);
  });
});
