/**
 * Composes aggregation, the durable outbox and one delivery loop per sink into the
 * incidents stage. Data dir layout: `<dataDir>/incidents/outbox/` (segments, cursors),
 * `<dataDir>/incidents/snapshot.json`, `<dataDir>/incidents/dead-letter.jsonl`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import { severityRank, type Incident } from '../../proto/incident.js';
import { createDeadLetterFile } from '../sinks/delivery/dead-letter.js';
import { createDeadLetterMetrics } from '../sinks/delivery/dead-letter-metrics.js';
import { listDeadLetters } from '../sinks/delivery/dead-letter-reader.js';
import { resendDeadLetters } from '../sinks/delivery/dead-letter-resend.js';
import { settingsFor } from '../sinks/delivery/delivery-config.js';
import { createDeliveryMetrics } from '../sinks/delivery/delivery-metrics.js';
import { createOutbox } from '../sinks/delivery/outbox.js';
import { createRateLimitedWarning } from '../sinks/delivery/rate-limited-warning.js';
import { createSinkDelivery, type SinkDelivery } from '../sinks/delivery/sink-delivery.js';
import type { Sink } from '../sinks/sink.js';
import { createIncidentMetrics } from './incident-metrics.js';
import type { IncidentPipeline } from './incident-pipeline.js';
import type { IncidentPipelineConfig } from './incident-pipeline-config.js';
import { readIncidentSnapshot, writeIncidentSnapshot } from './incident-snapshot.js';
import { createIncidentTable, type Revision } from './incident-table.js';

export interface IncidentPipelineDeps {
  readonly log: Logger;
  readonly registry: Registry;
  readonly dataDir: string;
  readonly sinks: readonly Sink[];
  readonly config: IncidentPipelineConfig;
  /** Milliseconds since the epoch (tests pass a fake clock). */
  readonly clock?: { now(): number };
}

/** Opens (and recovers) the outbox and the aggregation table; throws on start-up problems. */
export function createIncidentPipeline(deps: IncidentPipelineDeps): IncidentPipeline {
  const { config } = deps;
  const log = deps.log.child({ component: 'incidents' });
  const now = deps.clock ? () => deps.clock!.now() : Date.now;
  const ids = new Set<string>();
  for (const s of deps.sinks) {
    if (ids.has(s.id)) throw new Error(`duplicate sink id ${s.id}`);
    ids.add(s.id);
  }
  const unknown = Object.keys(config.delivery.sinks).filter((id) => !ids.has(id));
  if (unknown.length)
    throw new Error(`incidents.delivery.sinks names sinks that are not configured: ${unknown.join(', ')}`);
  const dir = join(deps.dataDir, 'incidents');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const snapshotPath = join(dir, 'snapshot.json');

  // The open-incidents gauge reads the table at scrape time, after it exists.
  const metrics = createIncidentMetrics(deps.registry, () => table.size);
  const table = createIncidentTable(
    {
      windowMs: config.windowMs,
      maxOpen: config.maxOpen,
      maxOpenPerWorkload: config.maxOpenPerWorkload,
      maxRemembered: config.maxRemembered,
      maxNewPerWorkloadPerMinute: config.maxNewPerWorkloadPerMinute,
    },
    {
      evicted: (reason, neverSent) => {
        metrics.evicted.inc({ reason });
        if (neverSent) metrics.droppedUnsent.inc();
      },
      held: () => metrics.held.inc(),
    },
  );

  const snapshot = readIncidentSnapshot(snapshotPath);
  const outbox = createOutbox({
    dir: join(dir, 'outbox'),
    sinkIds: [...ids],
    ...config.outbox,
    floorSeq: snapshot?.outboxSeq ?? 0,
    log,
    registry: deps.registry,
    now,
  });

  if (snapshot) table.load(snapshot.open, snapshot.remembered);
  let replayed = 0;
  outbox.replay(snapshot?.outboxSeq ?? 0, (r) => {
    table.restore(r.incident, r.appendedMs);
    replayed++;
  });
  log.info({ open: table.size, replayed, outboxBytes: outbox.bytes }, 'incident table restored');

  const deadLetter = createDeadLetterFile(join(dir, 'dead-letter.jsonl'), config.delivery.deadLetterMaxBytes, log, now);
  const deliveryMetrics = createDeliveryMetrics(deps.registry);
  const deadLetterMetrics = createDeadLetterMetrics(deps.registry);
  const deliveries: SinkDelivery[] = deps.sinks.map((sink) =>
    createSinkDelivery(sink, settingsFor(config.delivery, sink.id), {
      outbox,
      deadLetter,
      metrics: deliveryMetrics,
      log,
      now,
    }),
  );
  const submitWarning = createRateLimitedWarning(log, 10_000, now, 'error');
  const timers: NodeJS.Timeout[] = [];
  let dirty = false;
  let started = false;
  let stopped = false;
  let snapshotting: Promise<void> = Promise.resolve();

  function record(rev: Revision, sinks?: readonly string[]): void {
    const res = outbox.append(rev.incident, sinks);
    if (res.status === 'appended') {
      metrics.revisions.inc({ reason: rev.reason });
    } else {
      metrics.unrecorded.inc({ reason: res.reason });
      table.unsent(rev.incident.id);
    }
  }

  function writeSnapshot(): Promise<void> {
    if (!dirty) return snapshotting;
    dirty = false;
    // Capture the state and the seq it reflects now; write it only once those records
    // are durable, so the snapshot never claims a revision the outbox could lose.
    const outboxSeq = outbox.lastSeq;
    const { open, remembered } = table.entries();
    const state = { version: 1 as const, outboxSeq, open: open.map((e) => ({ ...e })), remembered };
    snapshotting = snapshotting
      .then(() => outbox.whenDurable())
      .then(() => writeIncidentSnapshot(snapshotPath, state))
      .catch((err: unknown) => {
        dirty = true;
        log.error({ err }, 'could not write the incident snapshot');
      });
    return snapshotting;
  }

  return {
    submit(finding) {
      try {
        const rev = table.observe(finding, now());
        dirty = true;
        if (!rev) return;
        if (rev.reason === 'new') metrics.incidents.inc({ rule: rev.incident.rule, severity: rev.incident.severity });
        record(rev);
      } catch (err) {
        metrics.errors.inc();
        submitWarning.note({ err, rule: finding.rule }, 'could not aggregate a finding');
      }
    },

    start() {
      if (started) return;
      started = true;
      for (const d of deliveries) d.start();
      for (const sink of deps.sinks) {
        const every = settingsFor(config.delivery, sink.id).digestIntervalMs;
        if (every > 0)
          timers.push(setInterval(() => table.digest(sink.id).forEach((r) => record(r, [sink.id])), every));
      }
      timers.push(setInterval(() => void writeSnapshot(), config.snapshotIntervalMs));
      if (config.maxNewPerWorkloadPerMinute > 0) {
        timers.push(setInterval(() => table.release(now()).forEach((r) => record(r)), 1000));
      }
      for (const t of timers) t.unref();
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all(deliveries.map((d) => d.stop()));
      dirty = true;
      await writeSnapshot();
      await outbox.close();
      await deadLetter.close();
      await Promise.all(
        deps.sinks.map((s) => s.close().catch((err: unknown) => log.warn({ err, sink: s.id }, 'sink close failed'))),
      );
    },

    whenDurable() {
      return outbox.whenDurable();
    },

    list(filter) {
      const floor = filter.minSeverity ? severityRank(filter.minSeverity) : 0;
      const limit = filter.limit ?? 1000;
      const out: Incident[] = [];
      for (const i of table.list()) {
        if (out.length >= limit) break;
        if (filter.rule && i.rule !== filter.rule) continue;
        if (severityRank(i.severity) < floor) continue;
        if (filter.workload && i.workloadKey !== filter.workload && !i.workloadKey.startsWith(`${filter.workload}/`))
          continue;
        out.push(i);
      }
      return out;
    },

    get(id) {
      return table.get(id);
    },

    health() {
      return deliveries.map((d) => d.health());
    },

    deadLetters(filter) {
      // Read between dead-letter writes, so a half-written line is never reported as malformed.
      return deadLetter.exclusive(() =>
        listDeadLetters(deadLetter.path, { sink: filter.sink, limit: filter.limit ?? 1000 }),
      );
    },

    async resendDeadLetters(filter) {
      const report = await resendDeadLetters(
        {
          deadLetter,
          outbox,
          sinks: deps.sinks,
          // Half the bound leaves the other half for live incidents during a large resend.
          outboxBudgetBytes: config.outbox.maxBytes / 2,
          metrics: deadLetterMetrics,
          log,
        },
        filter,
      );
      // Re-queued records are old revisions; a fresh snapshot past them keeps a restart's
      // replay from reopening incidents the table has since forgotten.
      if (report.requeued > 0) {
        dirty = true;
        void writeSnapshot();
      }
      return report;
    },
  };
}
