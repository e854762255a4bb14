import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { eventsFromBatch, tripline } from '../../../proto/codec.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import type { AgentReport, DropCount } from '../../../proto/report.js';
import { parseAgentConfig, type PipelineConfig } from '../../../agent/config.js';
import type { ContainerResolver, ResolvedContainer } from '../../../agent/containers/container-resolver.js';
import { createAgentMetrics } from '../../../agent/metrics.js';
import { createPipeline } from '../../../agent/pipeline/event-pipeline.js';
import { encodeBatchBody } from '../../../agent/transport/batch-encoding.js';
import type { OutgoingBatch, SendResult, Transport } from '../../../agent/transport/transport.js';

const BASE = parseAgentConfig({}, new Problems()).pipeline;

function resolved(id: number, provisional = false): ResolvedContainer {
  return {
    cgroupPath: `/system.slice/svc-${id}.service`,
    containerId: '',
    podUid: '',
    workload: { cluster: 'c', namespace: '', kind: 'cgroup', name: `system.slice/svc-${id}.service`, container: '' },
    image: '',
    imageDigest: '',
    privileged: false,
    labels: {},
    provisional,
  };
}

const staticResolver: ContainerResolver = { resolve: (id) => resolved(id), settle: () => undefined, close: () => {} };

/** Records batches; answers with whatever `answer` says. */
function recordingTransport(answer: () => SendResult = () => ({ status: 'success' })) {
  const batches: OutgoingBatch[] = [];
  const t: Transport = {
    name: 'recording',
    start: async () => {},
    send(b) {
      const r = answer();
      if (r.status === 'success') batches.push(b);
      return r;
    },
    stop: async () => {},
  };
  // Through the wire, as a collector reads the batch.
  const events = (): TriplineEvent[] =>
    batches.flatMap((b) =>
      eventsFromBatch(tripline.v1.EventBatch.decode(encodeBatchBody('run', b.envelopes, { node: b.node }))).map((d) => {
        if (!d.ok) throw new Error(d.error);
        return d.value;
      }),
    );
  const reports = (): AgentReport[] => batches.flatMap((b) => (b.report ? [b.report] : []));
  return { t, batches, events, reports };
}

function exec(cgroupId: number, exe: string): TriplineEvent {
  return {
    kind: 'exec',
    timeNs: 1,
    node: '',
    seq: 0,
    container: unresolvedContainer(cgroupId),
    process: { pid: 10, ppid: 1, uid: 0, exe, comm: exe.split('/').pop()!, argv: [exe] },
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  };
}

function write(cgroupId: number, path: string, op: 'open-write' | 'unlink' = 'open-write'): TriplineEvent {
  return {
    kind: 'file',
    timeNs: 1,
    node: '',
    seq: 0,
    container: unresolvedContainer(cgroupId),
    process: { pid: 10, ppid: 1, uid: 0, exe: '/bin/sh', comm: 'sh', argv: [] },
    op,
    path,
    oldPath: '',
    flags: 0o101,
    resolved: true,
  };
}

function syscalls(cgroupId: number, n: number): TriplineEvent {
  return {
    kind: 'syscalls',
    timeNs: 1,
    node: '',
    seq: 0,
    container: unresolvedContainer(cgroupId),
    process: { pid: 10, ppid: 1, uid: 0, exe: '/bin/x', comm: 'x', argv: [] },
    numbers: [n],
    names: [`sys${n}`],
    arch: 'x86_64',
  };
}

function setup(
  over: Partial<PipelineConfig> = {},
  transport = recordingTransport(),
  resolver = staticResolver,
  sensorDrops = new Map<number, DropCount[]>(),
) {
  const clock = { ms: 1_700_000_000_000 };
  const registry = new Registry();
  const metrics = createAgentMetrics(registry);
  const p = createPipeline({
    config: { ...BASE, ...over },
    node: 'node-a',
    agentRunId: 'run-1',
    sensor: { name: 'replay', blindSpots: ['nothing'], takeDrops: () => ({ byCgroup: sensorDrops }) },
    resolver,
    transport: transport.t,
    metrics,
    log: silentLogger(),
    now: () => clock.ms,
  });
  return { p, clock, registry, ...transport };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pipeline', () => {
  it('fills node, an increasing seq and the container identity on every event', async () => {
    const s = setup();
    s.p.emit(exec(7, '/bin/a'));
    s.p.emit(exec(8, '/bin/b'));
    await s.p.stop();
    const ev = s.events();
    expect(ev.map((e) => [e.node, e.seq])).toEqual([
      ['node-a', 1],
      ['node-a', 2],
    ]);
    expect(ev[1]!.container).toMatchObject({
      cgroupId: 8,
      cgroupPath: '/system.slice/svc-8.service',
      workload: { name: 'system.slice/svc-8.service' },
    });
  });

  it('suppresses a repeat within the TTL, sends it again after, and never dedups syscall sets', async () => {
    const s = setup({ dedupTtlMs: 60_000 });
    s.p.emit(exec(1, '/bin/sh'));
    s.p.emit(exec(1, '/bin/sh'));
    s.p.emit(exec(2, '/bin/sh')); // another cgroup: its own observation
    s.p.emit(syscalls(1, 5));
    s.p.emit(syscalls(1, 5));
    s.clock.ms += 60_000;
    s.p.emit(exec(1, '/bin/sh'));
    await s.p.stop();
    const ev = s.events();
    expect(ev.filter((e) => e.kind === 'exec').map((e) => e.container.cgroupId)).toEqual([1, 2, 1]);
    expect(ev.filter((e) => e.kind === 'syscalls')).toHaveLength(2);
    const c1 = s.reports()[0]!.containers.find((c) => c.cgroupId === 1)!;
    expect(c1.counts.find((k) => k.kind === 'exec')).toEqual({ kind: 'exec', seen: 3, sent: 2, deduplicated: 1 });
    expect(await s.registry.getSingleMetricAsString('tripline_agent_events_deduplicated_total')).toContain(
      'kind="exec"} 1',
    );
  });

  it('marks an exec of a file its container wrote, even when dedup suppressed the write', async () => {
    const s = setup({ dedupTtlMs: 60_000 });
    s.p.emit(exec(1, '/tmp/x')); // before it was written: an ordinary exec
    s.p.emit(write(1, '/tmp/x'));
    s.p.emit(write(1, '/tmp/x', 'unlink'));
    s.p.emit(write(1, '/tmp/x')); // a repeat for dedup, yet the file exists again
    s.p.emit(exec(1, '/tmp/x')); // not a repeat of the first exec: this one is marked
    s.p.emit(exec(2, '/tmp/x')); // another container did not write it
    await s.p.stop();
    const execs = s.events().filter((e) => e.kind === 'exec');
    expect(execs.map((e) => [e.container.cgroupId, e.kind === 'exec' && e.writtenByContainer])).toEqual([
      [1, false],
      [1, true],
      [2, false],
    ]);
    expect(s.events().filter((e) => e.kind === 'file')).toHaveLength(2);
  });

  it('cuts batches at batchMaxEvents as soon as they fill', async () => {
    const s = setup({ batchMaxEvents: 4, batchMaxDelayMs: 60_000, dedupSize: 0 });
    for (let i = 0; i < 10; i++) s.p.emit(exec(1, `/bin/x${i}`));
    await new Promise((r) => setImmediate(r));
    expect(s.batches.map((b) => b.envelopes.length)).toEqual([4, 4, 2]);
    await s.p.stop();
  });

  it('cuts batches at batchMaxBytes, counting each container the batch lists', async () => {
    const s = setup({ batchMaxBytes: 1024, batchMaxDelayMs: 60_000 });
    const long = '/opt/' + 'x'.repeat(100); // ~330 bytes per envelope: exe, comm and argv
    for (let i = 0; i < 6; i++) s.p.emit(exec(1 + (i % 3), `${long}${i}`));
    await s.p.stop();
    expect(s.batches.length).toBeGreaterThan(1);
    for (const b of s.batches)
      expect(encodeBatchBody('run', b.envelopes, { node: b.node }).length).toBeLessThanOrEqual(1024);
    expect(s.events()).toHaveLength(6);
  });

  it('stays within batchMaxBytes when a container changes identity within a batch', async () => {
    let n = 0;
    // Every resolution a different identity: each envelope must carry its own container.
    const changing: ContainerResolver = {
      resolve: (id) => ({ ...resolved(id), podUid: `pod-${++n}`.padEnd(36, 'x') }),
      settle: () => undefined,
      close: () => {},
    };
    const s = setup({ batchMaxBytes: 2048, batchMaxDelayMs: 60_000 }, recordingTransport(), changing);
    for (let i = 0; i < 40; i++) s.p.emit(exec(1, `/bin/tool-${i}`));
    await s.p.stop();
    expect(s.batches.length).toBeGreaterThan(1);
    for (const b of s.batches)
      expect(encodeBatchBody('run-1', b.envelopes, { node: b.node }).length).toBeLessThanOrEqual(2048);
    expect(new Set(s.events().map((e) => e.container.podUid)).size).toBe(40);
  });

  it('sends a partial batch after batchMaxDelay', () => {
    vi.useFakeTimers();
    const s = setup({ batchMaxEvents: 100, batchMaxDelayMs: 200 });
    s.p.emit(exec(1, '/bin/a'));
    vi.advanceTimersByTime(199);
    expect(s.batches).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(s.batches).toHaveLength(1);
  });

  it('drops new events as queue_full when the transport takes nothing, and reports them', async () => {
    let accept = false;
    const s = setup(
      { queueSize: 16, batchMaxEvents: 8, dedupSize: 0 },
      recordingTransport(() =>
        accept ? { status: 'success' } : { status: 'retryable', error: 'saturated', retryInMillis: 5 },
      ),
    );
    for (let i = 0; i < 20; i++) s.p.emit(exec(3, `/bin/x${i}`));
    expect(s.p.depth).toBe(16);
    accept = true;
    await s.p.stop();
    expect(s.events().map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const c3 = s.reports()[0]!.containers.find((c) => c.cgroupId === 3)!;
    expect(c3.drops).toEqual([{ kind: 'exec', reason: 'queue_full', count: 4 }]);
    expect(await s.registry.getSingleMetricAsString('tripline_agent_events_dropped_total')).toContain(
      'kind="exec",reason="queue_full"} 4',
    );
  });

  it('counts a batch the transport dropped under its reason and keeps the report for the next batch', async () => {
    let answer: SendResult = { status: 'failure', error: 'spool full', reason: 'spool_full' };
    const s = setup(
      { reportIntervalMs: 60_000 },
      recordingTransport(() => answer),
    );
    s.p.emit(exec(4, '/bin/a'));
    await vi.waitFor(async () =>
      expect(await s.registry.getSingleMetricAsString('tripline_agent_events_dropped_total')).toContain('spool_full'),
    );
    answer = { status: 'success' };
    s.p.emit(exec(4, '/bin/b'));
    await s.p.stop();
    const r = s.reports().at(-1)!;
    const c4 = r.containers.find((c) => c.cgroupId === 4)!;
    expect(c4.counts.find((k) => k.kind === 'exec')).toMatchObject({ seen: 2, sent: 1 });
    expect(c4.drops).toEqual([{ kind: 'exec', reason: 'spool_full', count: 1 }]);
  });

  it('puts kernel drops from the sensor into the report, per container and unattributed', async () => {
    const kernel = new Map<number, DropCount[]>([
      [9, [{ kind: 'file', reason: 'ringbuf_full', count: 12 }]],
      [0, [{ kind: 'exec', reason: 'ringbuf_full', count: 3 }]],
    ]);
    const s = setup({}, recordingTransport(), staticResolver, kernel);
    await s.p.stop();
    const r = s.reports()[0]!;
    expect(r).toMatchObject({ node: 'node-a', agentRunId: 'run-1', sensor: 'replay', blindSpots: ['nothing'] });
    expect(r.unattributedDrops).toEqual([{ kind: 'exec', reason: 'ringbuf_full', count: 3 }]);
    expect(r.containers).toEqual([
      {
        cgroupId: 9,
        workload: resolved(9).workload,
        counts: [],
        drops: [{ kind: 'file', reason: 'ringbuf_full', count: 12 }],
      },
    ]);
  });

  it('sends a report once per interval even with no events', () => {
    vi.useFakeTimers();
    const s = setup({ reportIntervalMs: 1000 });
    s.p.start();
    vi.advanceTimersByTime(3500);
    expect(s.reports()).toHaveLength(3);
    expect(s.batches.every((b) => b.envelopes.length === 0)).toBe(true);
    void s.p.stop();
  });

  it('holds a new Kubernetes container’s events until its pod is known', async () => {
    let release!: (r: ResolvedContainer) => void;
    const known: ResolvedContainer = {
      ...resolved(5),
      workload: { cluster: 'c', namespace: 'shop', kind: 'Deployment', name: 'api', container: 'app' },
    };
    const resolver: ContainerResolver = {
      resolve: (id) => resolved(id, true),
      settle: () => new Promise((r) => (release = r)),
      close: () => {},
    };
    const s = setup({ podWaitMs: 1000, batchMaxDelayMs: 1 }, recordingTransport(), resolver);
    s.p.emit(exec(5, '/bin/a'));
    s.p.emit(exec(5, '/bin/b'));
    expect(s.p.depth).toBe(2);
    release(known);
    await vi.waitFor(() => expect(s.events()).toHaveLength(2));
    expect(s.events().map((e) => [e.process.exe, e.container.workload?.name])).toEqual([
      ['/bin/a', 'api'],
      ['/bin/b', 'api'],
    ]);
    await s.p.stop();
  });
  it('keeps handing over at stop while the transport frees room, instead of losing the queue', async () => {
    let refusals = 3;
    const s = setup(
      { batchMaxEvents: 2, dedupSize: 0 },
      recordingTransport(() =>
        refusals-- > 0 ? { status: 'retryable', error: 'window full', retryInMillis: 5 } : { status: 'success' },
      ),
    );
    for (let i = 0; i < 7; i++) s.p.emit(exec(1, `/bin/x${i}`));
    await s.p.stop();
    expect(s.events().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(s.p.depth).toBe(0);
  });
});
