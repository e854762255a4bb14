/**
 * A list-then-watch cache of one Kubernetes resource that keeps itself alive. The
 * client library's ListWatch already relists after 410 Gone and re-watches after a
 * clean server-side close; what it does not do is come back after an `error` (a reset
 * connection, a failed list, an API server restart): this wrapper restarts it with
 * capped exponential backoff and jitter, asks for BOOKMARK events so an idle watch keeps
 * a fresh resourceVersion (fewer 410 relists), and counts restarts and relists.
 *
 * Shared by the agent's pod resolver and the collector's directory, policy and baseline
 * caches: the two sides must see Kubernetes the same way.
 */
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

export interface InformerHandlers<T> {
  readonly add?: (obj: T) => void;
  readonly update?: (obj: T) => void;
  readonly delete?: (obj: T) => void;
}

export interface ResilientInformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** Watch path, e.g. "/api/v1/pods" or "/apis/tripline.io/v1alpha1/runtimepolicies". */
  readonly path: string;
  /** Lists the same collection the path watches (with the same selectors). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  /**
   * Reduces each object to the fields the owner reads before it is cached (a cluster's
   * pods in full, managedFields and all, would cost gigabytes). Defaults to dropping
   * metadata.managedFields.
   */
  readonly transform?: (obj: T) => T;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  /** Bounded metric label: the resource's plural name. */
  readonly resource: string;
  readonly handlers: InformerHandlers<T>;
  readonly log: Logger;
  readonly registry: Registry;
  /** "tripline_agent" or "tripline_collector". */
  readonly metricPrefix: 'tripline_agent' | 'tripline_collector';
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

export interface ResilientInformer<T> {
  /** The cached object, by name (and namespace for namespaced resources). */
  get(name: string, namespace?: string): T | undefined;
  /** Every cached object, optionally of one namespace. */
  list(namespace?: string): readonly T[];
  /**
   * Starts listing and watching; resolves after the first list, or rejects after `timeoutMs`
   * while it keeps retrying in the background (call stop() to give up).
   */
  start(timeoutMs?: number): Promise<void>;
  /** Stops watching and cancels a pending restart; safe to call twice. */
  stop(): Promise<void>;
  /** True once a list succeeded. */
  readonly synced: boolean;
}

export function createResilientInformer<T extends KubernetesObject>(
  opts: ResilientInformerOptions<T>,
): ResilientInformer<T> {
  const log = opts.log.child({ informer: opts.resource });
  const initialMs = opts.backoff?.initialMs ?? 500;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const restarts = counter(
    opts.registry,
    `${opts.metricPrefix}_kube_informer_restarts_total`,
    'Informer restarts after a watch or list error.',
    ['resource', 'reason'],
  );
  const lists = counter(
    opts.registry,
    `${opts.metricPrefix}_kube_informer_lists_total`,
    'Full lists: the first one, then relists after 410 Gone or a restart.',
    ['resource'],
  );

  let synced = false;
  let stopped = true;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let onSynced: (() => void) | undefined;

  const transform = opts.transform ?? dropManagedFields;
  const listFn = async (): Promise<KubernetesListObject<T>> => {
    const listed = await opts.list();
    const result = { ...listed, items: listed.items.map(transform) };
    lists.inc({ resource: opts.resource });
    attempt = 0;
    synced = true;
    onSynced?.();
    return result;
  };

  const inner = new Watch(opts.kubeConfig);
  // BOOKMARKs keep the resourceVersion current on quiet collections, so a reconnect can
  // resume instead of relisting after the server compacted its history.
  const watch = {
    watch: (
      path: string,
      query: Record<string, string | number | boolean | undefined>,
      cb: Parameters<Watch['watch']>[2],
      done: Parameters<Watch['watch']>[3],
    ) =>
      inner.watch(
        path,
        { ...query, allowWatchBookmarks: true },
        (phase, obj, raw) =>
          cb(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? transform(obj as T) : obj, raw),
        done,
      ),
  } as Watch;
  const lw = new ListWatch<T>(opts.path, watch, listFn, false, opts.labelSelector, opts.fieldSelector);
  if (opts.handlers.add) lw.on('add', opts.handlers.add);
  if (opts.handlers.update) lw.on('update', opts.handlers.update);
  if (opts.handlers.delete) lw.on('delete', opts.handlers.delete);

  lw.on('error', (err: unknown) => {
    if (stopped) return;
    const reason = errorReason(err);
    restarts.inc({ resource: opts.resource, reason });
    const delay = Math.min(maxMs, initialMs * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt = Math.min(attempt + 1, 16);
    log.warn({ reason, retryInMs: Math.round(delay), err: errorMessage(err) }, 'watch failed; restarting');
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) void lw.start();
    }, delay);
    timer.unref();
  });

  return {
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    get synced() {
      return synced;
    },
    async start(timeoutMs = 30_000) {
      if (!stopped) return;
      stopped = false;
      const first = new Promise<void>((resolve, reject) => {
        if (synced) return resolve();
        const t = setTimeout(
          () => reject(new Error(`${opts.resource}: no successful list within ${timeoutMs}ms`)),
          timeoutMs,
        );
        onSynced = () => {
          clearTimeout(t);
          onSynced = undefined;
          resolve();
        };
      });
      void lw.start();
      await first;
    },
    async stop() {
      stopped = true;
      onSynced = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await lw.stop();
    },
  };
}

function dropManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** A bounded label for why a watch or list failed. */
function errorReason(err: unknown): string {
  const e = err as { statusCode?: number; code?: number | string; type?: string } | undefined;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : undefined;
  if (status === 401 || status === 403) return 'unauthorized';
  if (status !== undefined && status >= 500) return 'server-error';
  if (status !== undefined) return 'client-error';
  if (typeof e?.code === 'string' && /^E(CONNREFUSED|CONNRESET|HOSTUNREACH|TIMEDOUT|PIPE|NOTFOUND)/.test(e.code))
    return 'connection';
  if (e?.type === 'system' || e?.type === 'aborted') return 'connection';
  return 'other';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Informers of one process share counters on the same registry. */
export function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}
