/**
 * A whole analysis stage (static policy and enrichment, analyzer, in-memory store) on a
 * fake clock. Events reach it the way ingest delivers them: encoded, then decoded by one
 * batch decoder (one agent stream), so a container's events share one ContainerInfo.
 */
import { Registry } from 'prom-client';
import { encodeBatchBody, encodeEnvelope, withBatchId } from '../../../../agent/transport/batch-encoding.js';
import { createBatchDecoder } from '../../../../collector/ingest/batch-decoder.js';
import { eventToWire } from '../../../../proto/codec.js';
import { createAnalyzer } from '../../../../collector/analysis/create-analyzer.js';
import type { Analyzer } from '../../../../collector/analysis/analyzer.js';
import { parseAnalysisConfig } from '../../../../collector/analysis/analysis-config.js';
import { parseEnrichConfig } from '../../../../collector/enrich/enrich-config.js';
import { createStaticEnricher } from '../../../../collector/enrich/static-enricher.js';
import type { PeerDirectory } from '../../../../collector/enrich/peer-directory.js';
import type { Finding } from '../../../../collector/incidents/finding.js';
import { parsePolicyConfig } from '../../../../collector/policy/policy-config.js';
import {
  createStaticPolicySource,
  type StaticPolicySource,
} from '../../../../collector/policy/static-policy-source.js';
import type { ProfileStore } from '../../../../collector/profiles/profile-store.js';
import { Problems } from '../../../../lib/config-problems.js';
import { silentLogger } from '../../../../lib/logger.js';
import type { TriplineEvent } from '../../../../proto/events.js';
import type { ProfileSnapshot } from '../../../../proto/profile.js';

export const SOURCE = { identity: 'test', node: 'node-a', agentRunId: 'run-1' };

/** Learning windows short enough to step through: 10 s minimum, 5 s quiet, 60 s maximum. */
export const FAST_LEARNING = { minDuration: '10s', stableFor: '5s', maxDuration: '60s' };

/** A ProfileStore in memory that records every save. */
export function memoryStore(initial: ProfileSnapshot[] = []): ProfileStore & {
  saved: ProfileSnapshot[][];
  data: Map<string, ProfileSnapshot>;
  failNext: number;
  delayNextMs: number;
} {
  const data = new Map(initial.map((p) => [p.key, p]));
  const store = {
    data,
    saved: [] as ProfileSnapshot[][],
    failNext: 0,
    /** Delays the next save only, so a later save could overtake it. */
    delayNextMs: 0,
    async loadAll() {
      return [...data.values()];
    },
    async save(ps: readonly ProfileSnapshot[]) {
      if (store.failNext > 0) {
        store.failNext--;
        throw new Error('disk full');
      }
      const copy = [...ps];
      const delay = store.delayNextMs;
      store.delayNextMs = 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      store.saved.push(copy);
      for (const p of ps) data.set(p.key, p);
    },
    async remove(key: string) {
      data.delete(key);
    },
    watch() {
      return () => undefined;
    },
    async close() {},
  };
  return store;
}

export interface Harness {
  analyzer: Analyzer;
  findings: Finding[];
  store: ReturnType<typeof memoryStore>;
  registry: Registry;
  policies: StaticPolicySource;
  now: { ms: number };
  apply(...events: TriplineEvent[]): Promise<void>;
  /** Learns `events` at t=0 and moves the clock so the next event makes the profile stable. */
  learn(...events: TriplineEvent[]): Promise<void>;
}

export async function harness(
  opts: {
    policy?: Record<string, unknown>;
    enrich?: unknown;
    peers?: PeerDirectory;
    store?: ProfileStore;
    analysis?: unknown;
  } = {},
): Promise<Harness> {
  const problems = new Problems();
  const policies = createStaticPolicySource(parsePolicyConfig({ learning: FAST_LEARNING, ...opts.policy }, problems));
  const enricher = createStaticEnricher({
    config: parseEnrichConfig(opts.enrich, problems),
    policies,
    ...(opts.peers ? { peers: opts.peers } : {}),
  });
  const config = parseAnalysisConfig(opts.analysis, problems);
  problems.throwIfAny();
  const findings: Finding[] = [];
  // A test passing its own store does not use the memory store's extras (saved, data).
  const store = (opts.store ?? memoryStore()) as ReturnType<typeof memoryStore>;
  const registry = new Registry();
  const now = { ms: 1_000_000 };
  const analyzer = createAnalyzer({
    log: silentLogger(),
    registry,
    enricher,
    policies,
    store,
    findings: { submit: (f) => findings.push(f) },
    clock: () => now.ms,
    config,
  });
  await analyzer.start();
  const decoder = createBatchDecoder(10_000);
  let batchId = 0;
  const viaWire = (events: TriplineEvent[]): TriplineEvent[] => {
    const body = encodeBatchBody(
      SOURCE.agentRunId,
      events.map((e) => ({ bytes: encodeEnvelope(eventToWire(e)) })),
    );
    const r = decoder.decode(withBatchId(++batchId, body));
    if (!r.ok || r.batch.rejected > 0) throw new Error(`test events do not decode: ${JSON.stringify(r)}`);
    return r.batch.events;
  };
  const h: Harness = {
    analyzer,
    findings,
    store,
    registry,
    policies,
    now,
    apply: (...events) => analyzer.apply(viaWire(events), SOURCE),
    async learn(...events) {
      await analyzer.apply(viaWire(events), SOURCE);
      now.ms += 11_000;
    },
  };
  return h;
}
