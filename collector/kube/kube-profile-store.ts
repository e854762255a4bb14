/**
 * ProfileStore on the Kubernetes API: one RuntimeBaseline per workload container, so
 * the API server is the durable store in a cluster and people review and edit
 * baselines with kubectl.
 *
 * Writes go out only for profiles whose revision moved, with bounded concurrency, and
 * are optimistic: a replace carries the resourceVersion this collector last saw. A 409
 * means someone else wrote in between; the store re-reads, merges three ways against
 * what it last wrote (a person's removals and additions survive), and retries.
 * `watch` reports edits whose spec differs from what this collector wrote.
 */
import { createHash } from 'node:crypto';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ProfileSnapshot } from '../../proto/profile.js';
import type { ProfileStore } from '../profiles/profile-store.js';
import { counter, createResilientInformer, type ResilientInformer } from '../../lib/kube/resilient-informer.js';
import {
  BASELINE_GROUP as group,
  BASELINE_PLURAL as plural,
  BASELINE_VERSION as version,
  WORKLOAD_KEY_ANNOTATION,
  baselineName,
  baselineNamespace,
  fromBaseline,
  itemId,
  mergeSpecs,
  toBaselineSpec,
  toBaselineStatus,
  type RuntimeBaseline,
  type WrittenBase,
} from './runtime-baseline.js';

export interface KubeProfileStoreOptions {
  readonly kubeConfig: KubeConfig;
  /** Where baselines of workloads without a namespace (host processes) live. */
  readonly collectorNamespace: string;
  /** Parallel API writes per save. */
  readonly writeConcurrency: number;
  readonly watchBackoff: { readonly initialMs: number; readonly maxMs: number };
  readonly log: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
}

/** What this collector last wrote (or loaded) for one baseline. */
interface Written {
  readonly name: string;
  readonly namespace: string;
  resourceVersion: string;
  revision: number;
  base: WrittenBase;
  specHash: string;
}

const MAX_CONFLICT_RETRIES = 5;
const LIST_PAGE = 250;
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'tripline' };

export function createKubeProfileStore(opts: KubeProfileStoreOptions): ProfileStore {
  const log = opts.log.child({ component: 'kube-profile-store' });
  const now = opts.now ?? Date.now;
  const api = opts.kubeConfig.makeApiClient(CustomObjectsApi);
  const writes = counter(
    opts.registry,
    'tripline_collector_kube_baseline_writes_total',
    'RuntimeBaseline writes by outcome.',
    ['result'],
  );
  const invalid = counter(
    opts.registry,
    'tripline_collector_kube_baselines_invalid_total',
    'RuntimeBaselines that could not be read (skipped).',
    ['reason'],
  );
  const written = new Map<string, Written>();
  /** Spec hashes of writes in flight: their watch events can arrive before the response. */
  const inflight = new Map<string, string>();
  const listeners = new Set<(p: ProfileSnapshot) => void>();
  let informer: ResilientInformer<RuntimeBaseline> | undefined;

  function remember(key: string, obj: RuntimeBaseline, revision: number): void {
    written.set(key, {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      resourceVersion: obj.metadata.resourceVersion ?? '',
      revision,
      base: { items: new Set((obj.spec.items ?? []).map(itemId)), state: obj.spec.state },
      specHash: hashSpec(obj.spec),
    });
  }

  /**
   * Writes learning progress. A failure is logged and counted, not thrown: the spec (what
   * a restart reloads items from) is already stored, and the next change rewrites status.
   */
  async function writeStatus(key: string, p: ProfileSnapshot, stored: RuntimeBaseline): Promise<void> {
    const w = written.get(key)!;
    try {
      const res = (await api.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          plural,
          namespace: w.namespace,
          name: w.name,
          body: { status: toBaselineStatus(p, stored.metadata.generation) },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as RuntimeBaseline;
      // Adopt the new resourceVersion only if the spec is still ours; otherwise keep the
      // old one so the next replace conflicts and merges the person's edit.
      if (hashSpec(res.spec) === w.specHash) w.resourceVersion = res.metadata.resourceVersion ?? w.resourceVersion;
    } catch (err) {
      writes.inc({ result: 'status-error' });
      log.warn(
        { baseline: `${w.namespace}/${w.name}`, error: (err as Error).message },
        'could not write RuntimeBaseline status',
      );
    }
  }

  async function writeOne(p: ProfileSnapshot): Promise<void> {
    const ns = baselineNamespace(p.workload, opts.collectorNamespace);
    const name = baselineName(p.workload);
    const ours = toBaselineSpec(p);
    const metadata = {
      name,
      namespace: ns,
      labels: { ...MANAGED_BY },
      annotations: { [WORKLOAD_KEY_ANNOTATION]: p.key },
    };
    let prev = written.get(p.key);
    let spec = ours;
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      inflight.set(p.key, hashSpec(spec));
      try {
        let stored: RuntimeBaseline;
        if (!prev) {
          const body = { apiVersion: `${group}/${version}`, kind: 'RuntimeBaseline', metadata, spec };
          stored = (await api.createNamespacedCustomObject({
            group,
            version,
            plural,
            namespace: ns,
            body,
          })) as RuntimeBaseline;
          writes.inc({ result: 'created' });
        } else {
          const body = {
            apiVersion: `${group}/${version}`,
            kind: 'RuntimeBaseline',
            metadata: { ...metadata, resourceVersion: prev.resourceVersion },
            spec,
          };
          stored = (await api.replaceNamespacedCustomObject({
            group,
            version,
            plural,
            namespace: ns,
            name,
            body,
          })) as RuntimeBaseline;
          writes.inc({ result: 'updated' });
        }
        remember(p.key, stored, p.revision);
        await writeStatus(p.key, p, stored);
        return;
      } catch (err) {
        const code = statusCode(err);
        if (code === 409 || (code === 404 && prev)) {
          writes.inc({ result: code === 409 ? 'conflict' : 'recreate' });
          const latest = await readOne(ns, name);
          if (!latest) {
            prev = undefined;
            spec = ours;
            continue;
          }
          // Without a previous write (a restart raced a create) nothing was removed by anyone.
          const base: WrittenBase = prev?.base ?? { items: new Set(), state: latest.spec.state };
          spec = mergeSpecs(base, latest.spec, ours);
          prev = {
            name,
            namespace: ns,
            resourceVersion: latest.metadata.resourceVersion ?? '',
            revision: p.revision,
            base,
            specHash: '',
          };
          continue;
        }
        writes.inc({ result: 'error' });
        throw err;
      } finally {
        inflight.delete(p.key);
      }
    }
    writes.inc({ result: 'error' });
    throw new Error(`baseline ${ns}/${name}: still conflicting after ${MAX_CONFLICT_RETRIES} retries`);
  }

  async function readOne(namespace: string, name: string): Promise<RuntimeBaseline | undefined> {
    try {
      return (await api.getNamespacedCustomObject({ group, version, plural, namespace, name })) as RuntimeBaseline;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  function onObject(obj: RuntimeBaseline): void {
    const decoded = fromBaseline(obj, now());
    if (!decoded.ok) {
      invalid.inc({ reason: 'malformed' });
      log.warn(
        { namespace: obj.metadata.namespace, name: obj.metadata.name, error: decoded.error },
        'ignoring an invalid RuntimeBaseline edit',
      );
      return;
    }
    const key = decoded.profile.key;
    const mine = written.get(key);
    const hash = hashSpec(obj.spec);
    if (mine?.specHash === hash || inflight.get(key) === hash) return; // our own write coming back
    // Newer than anything this collector holds, so the profile stage adopts it.
    const revision = Math.max(mine?.revision ?? 0, decoded.profile.revision) + 1;
    if (mine) mine.revision = revision;
    const profile: ProfileSnapshot = { ...decoded.profile, revision };
    log.info(
      { baseline: `${obj.metadata.namespace}/${obj.metadata.name}`, items: profile.items.length },
      'RuntimeBaseline changed outside the collector',
    );
    for (const l of listeners) l(profile);
  }

  return {
    async loadAll() {
      const out: ProfileSnapshot[] = [];
      let cont: string | undefined;
      do {
        const page = (await api.listClusterCustomObject({
          group,
          version,
          plural,
          limit: LIST_PAGE,
          ...(cont ? { _continue: cont } : {}),
        })) as { items: RuntimeBaseline[]; metadata?: { _continue?: string; continue?: string } };
        for (const obj of page.items) {
          const decoded = fromBaseline(obj, now());
          if (!decoded.ok) {
            invalid.inc({ reason: 'malformed' });
            log.warn(
              { namespace: obj.metadata.namespace, name: obj.metadata.name, error: decoded.error },
              'skipping an invalid RuntimeBaseline',
            );
            continue;
          }
          remember(decoded.profile.key, obj, decoded.profile.revision);
          out.push(decoded.profile);
        }
        cont = page.metadata?._continue ?? page.metadata?.continue;
      } while (cont);
      return out;
    },

    async save(profiles) {
      const changed = profiles.filter((p) => (written.get(p.key)?.revision ?? -1) !== p.revision);
      writes.inc({ result: 'unchanged' }, profiles.length - changed.length);
      let next = 0;
      const errors: unknown[] = [];
      const worker = async (): Promise<void> => {
        while (next < changed.length) {
          const p = changed[next++]!;
          await writeOne(p).catch((err: unknown) => errors.push(err));
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.writeConcurrency, changed.length) }, worker));
      if (errors.length)
        throw new AggregateError(errors, `${errors.length} of ${changed.length} baselines were not saved`);
    },

    async remove(key) {
      const w = written.get(key);
      written.delete(key);
      const [namespace, name] = w ? [w.namespace, w.name] : locate(key, opts.collectorNamespace);
      try {
        await api.deleteNamespacedCustomObject({ group, version, plural, namespace, name });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
    },

    watch(onChange) {
      listeners.add(onChange);
      if (!informer) {
        informer = createResilientInformer<RuntimeBaseline>({
          kubeConfig: opts.kubeConfig,
          path: `/apis/${group}/${version}/${plural}`,
          list: () => api.listClusterCustomObject({ group, version, plural }),
          resource: plural,
          handlers: {
            add: onObject,
            update: onObject,
            delete: (obj) =>
              log.info(
                { baseline: `${obj.metadata.namespace}/${obj.metadata.name}` },
                'RuntimeBaseline deleted; it is recreated from the collector state on the next save',
              ),
          },
          log,
          registry: opts.registry,
          metricPrefix: 'tripline_collector',
          backoff: opts.watchBackoff,
        });
        informer
          .start()
          .catch((err: unknown) =>
            log.error({ err }, 'RuntimeBaseline watch did not start; retrying in the background'),
          );
      }
      return () => listeners.delete(onChange);
    },

    async close() {
      listeners.clear();
      await informer?.stop();
      informer = undefined;
    },
  };
}

/** Namespace and name of a baseline from its workload key alone ("cluster/ns/kind/name/container"). */
function locate(key: string, collectorNamespace: string): [string, string] {
  const [cluster = '', namespace = '', kind = '', ...rest] = key.split('/');
  const container = rest.pop() ?? '';
  const w = { cluster, namespace, kind, name: rest.join('/'), container };
  return [baselineNamespace(w, collectorNamespace), baselineName(w)];
}

function statusCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'number' ? c : undefined;
}

/** Hash of a spec independent of key order (the API server re-encodes objects with sorted keys). */
function hashSpec(spec: unknown): string {
  return createHash('sha256').update(canonical(spec)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
