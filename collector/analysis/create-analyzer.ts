/**
 * The analysis pipeline: enrich each event, find its workload's profile, let the rules
 * indexed under its kind decide, then learn. Built for the ingest hot path: the decoder
 * shares one ContainerInfo object per container, and what the analyzer needs about a
 * container (workload context, profile entry) hangs off that object in one WeakMap
 * slot; then one Map lookup per item, memoised keys, a reused rule context and event
 * wrapper, metrics as array increments — nothing is allocated for an event whose items
 * are all known.
 */
import type { Registry } from 'prom-client';
import { Problems } from '../../lib/config-problems.js';
import type { Logger } from '../../lib/logger.js';
import type { ContainerInfo, TriplineEvent, WorkloadRef } from '../../proto/events.js';
import { workloadKey } from '../../proto/events.js';
import type { AgentReport } from '../../proto/report.js';
import {
  ITEM_KINDS,
  type ItemKind,
  type ItemOrigin,
  type ProfileSnapshot,
  type ProfileState,
} from '../../proto/profile.js';
import type { EnrichedEvent, Enricher, PeerIdentity, WorkloadContext } from '../enrich/enriched-event.js';
import type { BatchSource } from '../enrich/intake.js';
import type { Finding, FindingSink } from '../incidents/finding.js';
import type { Tier } from '../policy/policy.js';
import { createDefaultRules } from '../detect/default-rules.js';
import { matchersFor, type PolicyMatchers } from '../detect/policy-matchers.js';
import type { Phase, Rule, RuleContext } from '../detect/rule.js';
import { createRuleRegistry } from '../detect/rule-registry.js';
import { compileGlob } from '../policy/glob.js';
import type { EffectivePolicy, PolicySource } from '../policy/policy.js';
import {
  advanceLearning,
  extendRollout,
  learnItem,
  noteDrops,
  noteImageDigest,
  replicaIdOf,
  touchItem,
} from '../profiles/learning.js';
import {
  createProfile,
  fromSnapshot,
  itemCount,
  itemSnapshot,
  toSnapshot,
  type Profile,
  type ProfileItem,
} from '../profiles/profile.js';
import type { ProfileStore } from '../profiles/profile-store.js';
import { parseAnalysisConfig, type AnalysisConfig } from './analysis-config.js';
import { createAnalysisMetrics, KIND_INDEX } from './analysis-metrics.js';
import type { Analyzer, ReviewDelta, TuningResult } from './analyzer.js';
import { createItemKeys } from './item-keys.js';
import {
  acceptDelta,
  approveItem,
  lockProfile,
  relearnProfile,
  removeItem,
  type EditResult,
} from './profile-tuning.js';

export interface AnalyzerOptions {
  readonly log: Logger;
  readonly registry: Registry;
  readonly enricher: Enricher;
  readonly policies: PolicySource;
  readonly store: ProfileStore;
  readonly findings: FindingSink;
  /** Milliseconds since the epoch; defaults to Date.now. */
  readonly clock?: () => number;
  /** Overrides config.persistEveryMs. */
  readonly persistEveryMs?: number;
  /** Defaults from parseAnalysisConfig(undefined). */
  readonly config?: AnalysisConfig;
  /** Defaults to every rule in DESIGN.md. */
  readonly rules?: readonly Rule[];
}

interface Entry {
  profile: Profile;
  policy: EffectivePolicy;
  matchers: PolicyMatchers;
  policyGeneration: number;
  savedRevision: number;
  savedAtMs: number;
  /**
   * Image digest string of the last event checked against the profile. The decoder shares
   * one string per container across its events, so a repeat is a pointer compare instead
   * of a 71-character one against the profile's copy; '' = check the next event.
   */
  checkedDigest: string;
}

/**
 * What the analyzer resolved for one container object. Valid while `generation` equals
 * the analyzer's (bumped by policy changes and replaced profiles) and the container
 * still names the same workload object.
 */
interface Slot {
  generation: number;
  ref: WorkloadRef;
  workload: WorkloadContext;
  entry: Entry;
}

const SAVE_BATCH = 256;
const SAMPLE_MASK = 255;

export function createAnalyzer(opts: AnalyzerOptions): Analyzer {
  const log = opts.log.child({ component: 'analyzer' });
  const { enricher, policies, store, findings } = opts;
  const clock = opts.clock ?? Date.now;
  const config = opts.config ?? parseAnalysisConfig(undefined, new Problems());
  const persistEveryMs = opts.persistEveryMs ?? config.persistEveryMs;
  const registry = createRuleRegistry(opts.rules ?? createDefaultRules());
  // Rule lists by item kind, resolved once: the hot path indexes a record, no Map lookup.
  const rulesFor: Readonly<Record<ItemKind, readonly Rule[]>> = {
    exec: registry.forKind('exec'),
    syscall: registry.forKind('syscalls'),
    file: registry.forKind('file'),
    listen: registry.forKind('listen'),
    egress: registry.forKind('connect'),
  };
  // Rules that can fire for an item the profile already has. Novelty rules are about
  // missing items (rule.ts), so for the steady state — every item known — only policy
  // rules run: dropped-binary-exec, protected-path-write, cross-sensitivity-flow; none
  // for syscalls and listeners.
  const knownRulesFor: Readonly<Record<ItemKind, readonly Rule[]>> = {
    exec: rulesFor.exec.filter((r) => !r.novelty),
    syscall: rulesFor.syscall.filter((r) => !r.novelty),
    file: rulesFor.file.filter((r) => !r.novelty),
    listen: rulesFor.listen.filter((r) => !r.novelty),
    egress: rulesFor.egress.filter((r) => !r.novelty),
  };
  const keys = createItemKeys(config.ephemeralPortMin);
  const entries = new Map<string, Entry>();
  const metrics = createAnalysisMetrics(opts.registry, {
    byState() {
      const n: Record<ProfileState, number> = { learning: 0, stable: 0, locked: 0 };
      for (const e of entries.values()) n[e.profile.state]++;
      return n;
    },
    items() {
      let n = 0;
      for (const e of entries.values()) n += itemCount(e.profile);
      return n;
    },
  });
  let policyGeneration = 0;
  let slotGeneration = 0;
  const slots = new WeakMap<ContainerInfo, Slot>();
  let sampleCounter = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushChain: Promise<void> = Promise.resolve();
  const unsubscribe: (() => void)[] = [];

  // One context object reused for every evaluation; rules must not keep it.
  const ctx = {
    itemKind: 'exec' as ItemKind,
    itemKey: '',
    origin: undefined as ItemOrigin | undefined,
    phase: 'stable' as Phase,
    policy: undefined as unknown as EffectivePolicy,
    matchers: undefined as unknown as PolicyMatchers,
    isProtected(path: string): boolean {
      return this.matchers.isProtected(path);
    },
    flowAllowed(e: EnrichedEvent): boolean {
      return this.matchers.flowAllowed(e);
    },
  } satisfies RuleContext & { matchers: PolicyMatchers };
  // One event wrapper reused likewise: rules read it synchronously and keep only its parts.
  const en = {
    event: undefined as unknown as TriplineEvent,
    workloadKey: '',
    tier: 'internal' as Tier,
    labels: undefined as Readonly<Record<string, string>> | undefined,
    peer: undefined as PeerIdentity | undefined,
  } satisfies EnrichedEvent;

  function slotFor(event: TriplineEvent, nowMs: number): Slot | undefined {
    const c = event.container;
    const s = slots.get(c);
    if (s !== undefined && s.generation === slotGeneration && s.ref === c.workload) return s;
    const workload = enricher.workload(event);
    if (workload === undefined) return undefined;
    const fresh: Slot = {
      generation: slotGeneration,
      ref: c.workload!,
      workload,
      entry: entryFor(c.workload!, workload, nowMs),
    };
    slots.set(c, fresh);
    return fresh;
  }

  function entryFor(w: WorkloadRef, workload: WorkloadContext, nowMs: number): Entry {
    let entry = entries.get(workload.workloadKey);
    if (entry === undefined) {
      const policy = policies.policyFor(w, workload.labels);
      entry = {
        profile: createProfile(w, workload.workloadKey, nowMs),
        policy,
        matchers: matchersFor(policy),
        policyGeneration,
        savedRevision: 0,
        savedAtMs: nowMs,
        checkedDigest: '',
      };
      entries.set(workload.workloadKey, entry);
    } else if (entry.policyGeneration !== policyGeneration) {
      refreshPolicy(entry, workload.labels);
    }
    return entry;
  }

  function refreshPolicy(entry: Entry, labels?: Readonly<Record<string, string>>): void {
    entry.policy = policies.policyFor(entry.profile.workload, labels);
    entry.matchers = matchersFor(entry.policy);
    entry.policyGeneration = policyGeneration;
  }

  function applyOne(event: TriplineEvent, nowMs: number): void {
    const slot = slotFor(event, nowMs);
    if (slot === undefined) {
      metrics.countDrop('no_workload');
      return;
    }
    const entry = slot.entry;
    const p = entry.profile;
    en.event = event;
    en.workloadKey = slot.workload.workloadKey;
    en.tier = slot.workload.tier;
    en.labels = slot.workload.labels;
    en.peer = event.kind === 'connect' ? enricher.peer(event.ip, slot.workload, event.dnsName) : undefined;
    const digest = event.container.imageDigest;
    if (digest !== entry.checkedDigest) {
      if (digest !== '' && p.imageDigests[p.imageDigests.length - 1] !== digest)
        noteImageDigest(p, digest, entry.policy.learning, nowMs);
      entry.checkedDigest = digest;
    }
    if (p.state === 'learning' || p.rolloutDigest !== '') advanceLearning(p, entry.policy.learning, nowMs);
    const phase: Phase =
      p.state === 'learning'
        ? 'learning'
        : p.state === 'stable' && p.rolloutDigest !== '' && digest === p.rolloutDigest && nowMs < p.rolloutUntilMs
          ? 'image-update'
          : 'stable';
    switch (event.kind) {
      case 'exec': {
        const found = pathItem(p, 'exec', event.process.exe);
        item(entry, en, phase, 'exec', lookedUpKey, found, nowMs);
        return;
      }
      case 'syscalls':
        for (let i = 0; i < event.names.length; i++) {
          const key = event.names[i] || `nr:${event.numbers[i]}`;
          item(entry, en, phase, 'syscall', key, lookup(p, 'syscall', key), nowMs);
        }
        return;
      case 'file': {
        const found = pathItem(p, 'file', event.path);
        item(entry, en, phase, 'file', lookedUpKey, found, nowMs);
        return;
      }
      case 'listen': {
        const key = keys.listen(event.protocol, event.port);
        item(entry, en, phase, 'listen', key, lookup(p, 'listen', key), nowMs);
        return;
      }
      case 'connect': {
        const key = keys.egress(en.peer!.id, event.protocol, event.port);
        item(entry, en, phase, 'egress', key, lookup(p, 'egress', key), nowMs);
        return;
      }
    }
  }

  /** Generalised key of the last pathItem call (a variable, so the hot path allocates no pair). */
  let lookedUpKey = '';

  /**
   * The profile item for a raw path, setting lookedUpKey. Most raw paths are their own
   * generalised key and already in the profile: one probe of the per-profile map answers
   * without touching the global memo of generalisations. Sound because generalisation is
   * idempotent (a key generalises to itself).
   */
  function pathItem(p: Profile, kind: 'exec' | 'file', raw: string): ProfileItem | undefined {
    const found = p.items[kind].get(raw);
    if (found !== undefined) {
      lookedUpKey = raw;
      return found;
    }
    const key = keys.path(raw);
    lookedUpKey = key;
    return key === raw ? globFallback(p, kind, key) : lookup(p, kind, key);
  }

  function lookup(p: Profile, kind: ItemKind, key: string): ProfileItem | undefined {
    const found = p.items[kind].get(key);
    return found !== undefined ? found : globFallback(p, kind, key);
  }

  function globFallback(p: Profile, kind: ItemKind, key: string): ProfileItem | undefined {
    return p.globKeys[kind].length > 0 ? globLookup(p, kind, key) : undefined;
  }

  function item(
    entry: Entry,
    en: EnrichedEvent,
    phase: Phase,
    kind: ItemKind,
    key: string,
    found: ProfileItem | undefined,
    nowMs: number,
  ): void {
    const p = entry.profile;
    if (entry.policy.mode === 'detect') {
      const rules = found === undefined ? rulesFor[kind] : knownRulesFor[kind];
      if (rules.length > 0) {
        ctx.itemKind = kind;
        ctx.itemKey = key;
        ctx.origin = found?.origin;
        ctx.phase = phase;
        ctx.policy = entry.policy;
        ctx.matchers = entry.matchers;
        for (let i = 0; i < rules.length; i++) {
          const rule = rules[i]!;
          let f: Finding | undefined;
          try {
            f = rule.evaluate(en, ctx);
          } catch {
            metrics.countRuleError(rule.id);
            continue;
          }
          if (f !== undefined) submit(entry, f, nowMs);
        }
      }
    }
    if (found !== undefined) {
      touchItem(p, found, nowMs, en.event);
      return;
    }
    // Locked profiles learn nothing; stable ones learn only in learn mode or for a rollout.
    const learns = phase !== 'stable' || (entry.policy.mode === 'learn' && p.state === 'stable');
    if (!learns) return;
    if (itemCount(p) >= config.maxItemsPerProfile) {
      metrics.countDrop('profile_full');
      return;
    }
    learnItem(p, kind, key, nowMs, replicaIdOf(en.event), en.event.container.imageDigest, phase === 'image-update');
    if (phase === 'image-update') extendRollout(p, entry.policy.learning, nowMs);
  }

  function globLookup(p: Profile, kind: ItemKind, key: string): ProfileItem | undefined {
    for (const g of p.globKeys[kind]) if (compileGlob(g)(key)) return p.items[kind].get(g);
    return undefined;
  }

  function submit(entry: Entry, f: Finding, nowMs: number): void {
    if (entry.matchers.isExcepted(f.rule, f.workloadKey, f.key, nowMs)) {
      metrics.countSilenced(f.rule);
      return;
    }
    metrics.countFinding(f.rule, f.severity);
    try {
      findings.submit(f);
    } catch (err) {
      log.debug({ err, rule: f.rule }, 'finding sink threw');
    }
  }

  function tick(nowMs: number): void {
    for (const e of entries.values()) {
      if (e.policyGeneration !== policyGeneration) refreshPolicy(e);
      if (e.profile.state === 'learning' || e.profile.rolloutDigest !== '')
        advanceLearning(e.profile, e.policy.learning, nowMs);
    }
  }

  async function doFlush(): Promise<void> {
    const nowMs = clock();
    // Profiles with no traffic still finish learning on time.
    tick(nowMs);
    const dirty: Entry[] = [];
    for (const e of entries.values()) {
      const p = e.profile;
      if (p.revision === e.savedRevision && p.statsDirty && nowMs - e.savedAtMs >= config.statsPersistEveryMs)
        p.revision++;
      if (p.revision !== e.savedRevision) dirty.push(e);
    }
    for (let i = 0; i < dirty.length; i += SAVE_BATCH) {
      const batch = dirty.slice(i, i + SAVE_BATCH);
      const snaps = batch.map((e) => toSnapshot(e.profile));
      try {
        await store.save(snaps);
      } catch (err) {
        metrics.countPersistFailure();
        log.warn({ err, profiles: snaps.length }, 'saving profiles failed; retrying at the next flush');
        continue;
      }
      batch.forEach((e, j) => {
        e.savedRevision = snaps[j]!.revision;
        e.savedAtMs = nowMs;
        if (e.profile.revision === e.savedRevision) e.profile.statsDirty = false;
      });
    }
  }

  function flush(): Promise<void> {
    flushChain = flushChain.then(doFlush, doFlush);
    return flushChain;
  }

  function adopt(s: ProfileSnapshot, nowMs: number): void {
    const profile = fromSnapshot(s, nowMs);
    const policy = policies.policyFor(profile.workload);
    entries.set(s.key, {
      profile,
      policy,
      matchers: matchersFor(policy),
      policyGeneration,
      savedRevision: s.revision,
      savedAtMs: nowMs,
      checkedDigest: '',
    });
    // Slots still hold the entry this one replaces.
    slotGeneration++;
  }

  /**
   * Applies a person's edit and saves the profile before resolving. The save joins the
   * flush chain so writes of one profile never race: an older flush snapshot cannot land
   * on disk after the edit.
   */
  async function edit(key: string, change: (p: Profile, nowMs: number) => EditResult | void): Promise<TuningResult> {
    const entry = entries.get(key);
    if (!entry) return { ok: false, error: 'not-found' };
    const r = change(entry.profile, clock());
    if (r && r !== 'ok') return { ok: false, error: r };
    // An edit may have changed the digests; check the next event's again.
    entry.checkedDigest = '';
    let snap = toSnapshot(entry.profile);
    const save = async (): Promise<void> => {
      snap = toSnapshot(entry.profile);
      await store.save([snap]);
      entry.savedRevision = snap.revision;
    };
    const saved = flushChain.then(save, save);
    flushChain = saved.catch(() => undefined);
    try {
      await saved;
    } catch (err) {
      log.warn({ err, profile: key }, 'saving an edited profile failed; it is retried at the next flush');
      return { ok: false, error: 'not-saved', detail: (err as Error).message };
    }
    return { ok: true, profile: snap };
  }

  return {
    async apply(events: readonly TriplineEvent[], _source: BatchSource): Promise<void> {
      const nowMs = clock();
      const counts = metrics.events;
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        counts[KIND_INDEX[e.kind]]!++;
        try {
          if ((++sampleCounter & SAMPLE_MASK) === 0) {
            const t0 = performance.now();
            applyOne(e, nowMs);
            metrics.evaluationSeconds.observe((performance.now() - t0) / 1000);
          } else {
            applyOne(e, nowMs);
          }
        } catch (err) {
          // One malformed event must not fail the batch (ingest would resend it forever).
          metrics.countDrop('invalid_event');
          log.debug({ err, kind: e.kind }, 'event could not be analysed');
        }
      }
    },

    applyReport(report: AgentReport, source: BatchSource): void {
      const nowMs = clock();
      for (const c of report.containers) {
        if (c.workload === undefined || !c.drops.some((d) => d.count > 0)) continue;
        const entry = entries.get(workloadKey(c.workload));
        if (entry && noteDrops(entry.profile, nowMs))
          log.info(
            { profile: entry.profile.key, node: source.node },
            'agent dropped events while learning: profile marked partial',
          );
      }
    },

    async start(): Promise<void> {
      const nowMs = clock();
      const stored = await store.loadAll();
      for (const s of stored) adopt(s, nowMs);
      unsubscribe.push(
        policies.onChange(() => {
          policyGeneration++;
          slotGeneration++;
        }),
      );
      unsubscribe.push(store.watch((s) => adopt(s, clock())));
      log.info({ profiles: stored.length }, 'profiles loaded');
      timer = setInterval(() => void flush(), persistEveryMs);
      timer.unref();
    },

    flush,

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const u of unsubscribe.splice(0)) u();
      await flush();
    },

    listProfiles: () => [...entries.values()].map((e) => toSnapshot(e.profile)),
    getProfile(key) {
      const e = entries.get(key);
      return e ? toSnapshot(e.profile) : undefined;
    },
    approve: (key, kind, itemKey) => edit(key, (p, now) => approveItem(p, kind, itemKey, now)),
    removeItem: (key, kind, itemKey) => edit(key, (p) => removeItem(p, kind, itemKey)),
    relearn: (key) => edit(key, (p, now) => relearnProfile(p, now)),
    lock: (key) => edit(key, (p, now) => lockProfile(p, now)),
    acceptDelta: (key) => edit(key, (p) => acceptDelta(p)),
    reviewDelta(key): ReviewDelta | undefined {
      const e = entries.get(key);
      if (!e) return undefined;
      const pendingReview = [];
      const suspect = [];
      for (const kind of ITEM_KINDS) {
        for (const i of e.profile.items[kind].values()) {
          if (i.pendingReview) pendingReview.push(itemSnapshot(i));
          if (i.suspect) suspect.push(itemSnapshot(i));
        }
      }
      return { key, pendingReview, suspect };
    },
  };
}
