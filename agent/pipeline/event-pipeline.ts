/**
 * The agent's pipeline: sensor event → written-file marking → dedup → container
 * identity → sequence number → encoded envelope → bounded queue → batches to the
 * transport, plus the AgentReport once per interval riding on the next batch.
 *
 * The queue absorbs bursts (a ring-buffer poll can emit thousands of events in one tick)
 * and transport back-pressure (no spool, collector down). When it is full, new events
 * are dropped and counted as queue_full: the newest are dropped, not the oldest, because
 * the oldest are already numbered and a gap in the middle is harder to reason about.
 */
import type { Logger } from '../../lib/logger.js';
import type { TriplineEvent } from '../../proto/events.js';
import type { DropReason } from '../../proto/report.js';
import type { PipelineConfig } from '../config.js';
import type { ContainerResolver, ResolvedContainer } from '../containers/container-resolver.js';
import type { AgentMetrics } from '../metrics.js';
import type { Sensor } from '../sensors/sensor.js';
import { encodeContainer, encodeEventBody, sameContainer, type EncodedContainer } from '../transport/batch-encoding.js';
import type { OutgoingEnvelope, Transport } from '../transport/transport.js';
import { createBurstLog } from './burst-log.js';
import { createDedup } from './dedup.js';
import { createWrittenFiles } from './written-files.js';
import type { Pipeline } from './pipeline.js';
import { UNATTRIBUTED, buildReport, createReportCounters, type CountsSnapshot } from './report-counters.js';

export interface PipelineOptions {
  readonly config: PipelineConfig;
  readonly node: string;
  readonly agentRunId: string;
  /** Name, blind spots and kernel drops of the sensor feeding this pipeline. */
  readonly sensor: Pick<Sensor, 'name' | 'blindSpots' | 'takeDrops'>;
  readonly resolver: ContainerResolver;
  readonly transport: Transport;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  /** Milliseconds since the epoch (tests pass a fake clock). */
  readonly now?: () => number;
}

/** Per-envelope overhead of the batch framing: tag byte plus a length varint. */
const FRAME_BYTES = 4;
/** An envelope's reference to its batch's container: two tags, two lengths, a cgroup id varint. */
const REFERENCE_BYTES = 14;
/** Batch id, run id and node: tags, lengths and the 64-bit id at its widest. */
const HEADER_OVERHEAD_BYTES = 16;
/** Cgroups remembered as having already waited for their pod. */
const MAX_WAITED = 65_536;

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { config, transport, resolver, metrics } = opts;
  const log = opts.log.child({ component: 'pipeline' });
  const now = opts.now ?? Date.now;
  const drops = createBurstLog(log, 'dropping events');
  const dedup = createDedup({ size: config.dedupSize, ttlMs: config.dedupTtlMs, now });
  const written = createWrittenFiles({
    maxPathsPerContainer: config.writtenPathsPerContainer,
    maxPaths: config.writtenPathsTotal,
  });
  const counters = createReportCounters(now() * 1e6);
  const headerBytes = HEADER_OVERHEAD_BYTES + Buffer.byteLength(opts.agentRunId) + Buffer.byteLength(opts.node);

  // The queue is an array with a moving head: shift() is O(n) on large arrays.
  let queue: OutgoingEnvelope[] = [];
  let head = 0;
  let queuedBytes = 0;
  const held = new Map<number, TriplineEvent[]>();
  let heldCount = 0;
  const waited = new Set<number>();
  // Containers are encoded once per resolution (the resolver hands out one object per cgroup).
  const encodedBy = new WeakMap<ResolvedContainer, EncodedContainer>();
  let seq = 0;
  let reportDue = false;
  let flushTimer: NodeJS.Timeout | undefined;
  let flushScheduled = false;
  let reportTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const queued = (): number => queue.length - head;

  function drop(cgroupId: number, kind: TriplineEvent['kind'], reason: DropReason, n = 1): void {
    counters.drop(cgroupId, kind, reason, n);
    metrics.eventsDropped.inc({ kind, reason }, n);
    drops.note(reason, n);
  }

  function fill(e: TriplineEvent, r: ResolvedContainer): void {
    const c = e.container;
    c.cgroupPath = r.cgroupPath;
    c.containerId = r.containerId;
    c.podUid = r.podUid;
    c.workload = r.workload;
    c.image = r.image;
    c.imageDigest = r.imageDigest;
    c.privileged = r.privileged;
  }

  function enqueue(e: TriplineEvent, r: ResolvedContainer | undefined): void {
    const id = e.container.cgroupId;
    if (queued() + heldCount >= config.queueSize) {
      drop(id, e.kind, 'queue_full');
      return;
    }
    if (r) fill(e, r);
    counters.label(id, e.container.workload!);
    e.node = opts.node;
    e.seq = ++seq;
    let bytes: Uint8Array;
    let container: EncodedContainer;
    try {
      bytes = encodeEventBody(e);
      container = encodedContainer(e, r);
    } catch {
      // A sensor bug (e.g. a non-string field) must cost one event, not the agent.
      drop(id, e.kind, 'decode_error');
      return;
    }
    queue.push({ kind: e.kind, cgroupId: id, bytes, container });
    queuedBytes += bytes.length + FRAME_BYTES;
    metrics.queueDepth.set(queued() + heldCount);
    if (queued() >= config.batchMaxEvents || queuedBytes >= config.batchMaxBytes) scheduleFlushNow();
    else if (flushTimer === undefined && !stopped) flushTimer = setTimeout(flush, config.batchMaxDelayMs);
  }

  function encodedContainer(e: TriplineEvent, r: ResolvedContainer | undefined): EncodedContainer {
    const known = r && encodedBy.get(r);
    if (known && known.cgroupId === e.container.cgroupId) return known;
    const fresh = encodeContainer(e.container);
    if (r) encodedBy.set(r, fresh);
    return fresh;
  }

  /** Holds a new container's events until its pod is known; `settling` starts the wait. */
  function hold(e: TriplineEvent, settling?: Promise<ResolvedContainer>): void {
    const id = e.container.cgroupId;
    if (queued() + heldCount >= config.queueSize) return drop(id, e.kind, 'queue_full');
    heldCount++;
    const list = held.get(id);
    if (list) return void list.push(e);
    held.set(id, [e]);
    void settling?.then((r) => release(id, r));
  }

  function release(id: number, r: ResolvedContainer | undefined): void {
    const list = held.get(id);
    if (!list) return;
    held.delete(id);
    heldCount -= list.length;
    waited.add(id);
    if (waited.size > MAX_WAITED) waited.delete(waited.values().next().value!);
    for (const e of list) enqueue(e, r ?? resolver.resolve(id));
  }

  function emit(e: TriplineEvent): void {
    try {
      const id = e.container.cgroupId;
      metrics.eventsSeen.inc({ kind: e.kind });
      counters.count(id, e.kind, 'seen');
      // Before dedup: a write repeated after an unlink is a repeat there, yet the file is back.
      if (e.kind === 'file') written.note(e);
      else if (e.kind === 'exec' && !e.writtenByContainer && written.wasWritten(e)) e.writtenByContainer = true;
      if (dedup.isRepeat(e)) {
        metrics.eventsDeduplicated.inc({ kind: e.kind });
        counters.count(id, e.kind, 'deduplicated');
        return;
      }
      // A sensor that already knows the identity (replay of a recording) keeps it.
      if (e.container.workload) return enqueue(e, undefined);
      if (held.has(id)) return hold(e);
      const r = resolver.resolve(id);
      if (r.provisional && config.podWaitMs > 0 && !stopped && !waited.has(id)) {
        const settling = resolver.settle(id, config.podWaitMs);
        if (settling) return hold(e, settling);
      }
      enqueue(e, r);
    } catch (err) {
      // emit must never throw into the sensor's read loop; the drop is logged per burst.
      log.debug({ err }, 'pipeline failed on an event');
      drop(e.container?.cgroupId ?? UNATTRIBUTED, e.kind, 'decode_error');
    }
  }

  function scheduleFlushNow(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  function takeSnapshot(): CountsSnapshot {
    const kernel = opts.sensor.takeDrops();
    for (const [id, list] of kernel.byCgroup) {
      for (const d of list) {
        counters.drop(id, d.kind, d.reason, d.count);
        metrics.eventsDropped.inc({ kind: d.kind, reason: d.reason }, d.count);
      }
    }
    return counters.snapshot(now() * 1e6);
  }

  /** Hands over what is queued; returns the transport's retry delay if it stopped taking batches. */
  function flush(): number | undefined {
    flushScheduled = false;
    let retryIn: number | undefined;
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    while (queued() > 0 || reportDue) {
      let end = head;
      let bytes = 0;
      let batchBytes = headerBytes;
      // A batch lists each of its containers once: the first envelope of a container pays
      // for it, and one whose container changed since (resolved further) carries its own.
      const listed = new Map<number, EncodedContainer>();
      while (end < queue.length && end - head < config.batchMaxEvents) {
        const env = queue[end]!;
        const size = env.bytes.length + FRAME_BYTES;
        const first = listed.get(env.cgroupId);
        const container =
          first !== undefined && sameContainer(first, env.container) ? 0 : env.container.bytes.length + FRAME_BYTES;
        const wire = size + REFERENCE_BYTES + container;
        if (end > head && batchBytes + wire > config.batchMaxBytes) break;
        bytes += size;
        batchBytes += wire;
        if (!first) listed.set(env.cgroupId, env.container);
        end++;
      }
      const envelopes = queue.slice(head, end);
      // The report must count this batch's envelopes as sent, so they are counted before
      // the snapshot and un-counted if the batch does not go.
      for (const env of envelopes) counters.count(env.cgroupId, env.kind, 'sent');
      const snapshot = reportDue ? takeSnapshot() : undefined;
      const report = snapshot
        ? buildReport(
            snapshot,
            {
              node: opts.node,
              agentRunId: opts.agentRunId,
              sensor: opts.sensor.name,
              blindSpots: opts.sensor.blindSpots,
              endNs: now() * 1e6,
            },
            (id) => resolver.resolve(id).workload,
          )
        : undefined;
      const result = transport.send(report ? { node: opts.node, envelopes, report } : { node: opts.node, envelopes });
      if (result.status !== 'success') {
        if (snapshot) counters.restore(snapshot);
        for (const env of envelopes) counters.count(env.cgroupId, env.kind, 'sent', -1);
      }
      if (result.status === 'retryable') {
        retryIn = result.retryInMillis ?? 100;
        if (!stopped) flushTimer = setTimeout(flush, retryIn);
        break;
      }
      reportDue = false;
      head = end;
      queuedBytes -= bytes;
      if (result.status === 'success') {
        for (const env of envelopes) metrics.eventsSent.inc({ kind: env.kind });
      } else {
        for (const env of envelopes) drop(env.cgroupId, env.kind, result.reason);
      }
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    metrics.queueDepth.set(queued() + heldCount);
    return retryIn;
  }

  return {
    emit,
    get depth() {
      return queued() + heldCount;
    },
    start() {
      reportTimer = setInterval(() => {
        reportDue = true;
        scheduleFlushNow();
      }, config.reportIntervalMs);
    },
    async stop(timeoutMs = 5_000) {
      if (stopped) return;
      stopped = true;
      if (reportTimer !== undefined) clearInterval(reportTimer);
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      for (const id of [...held.keys()]) release(id, undefined);
      reportDue = true;
      // A saturated transport frees room as acknowledgements arrive: keep handing over
      // until the queue is empty or the deadline passes.
      const deadline = Date.now() + timeoutMs;
      for (let retryIn = flush(); retryIn !== undefined && Date.now() < deadline; retryIn = flush()) {
        await new Promise((r) => setTimeout(r, Math.min(retryIn, Math.max(0, deadline - Date.now()))));
      }
      if (queued() > 0) log.warn({ count: queued() }, 'transport took no more batches at stop; queued events are lost');
      drops.close();
    },
  };
}
