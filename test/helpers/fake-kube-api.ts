/**
 * A fake Kubernetes API server on loopback, faithful to the parts of the protocol Tripline
 * uses: lists carry a resourceVersion (and paginate with limit/continue), watches stream
 * newline-delimited JSON events from a resourceVersion over a chunked response, send
 * BOOKMARK events when asked to, answer an expired resourceVersion with a 410 Expired
 * ERROR event, honour label selectors and the field selectors kubelets and agents use,
 * and implement create/get/replace/merge-patch/delete with optimistic concurrency (409 on a
 * stale resourceVersion) and a status subresource for custom resources. TokenReview
 * answers from a table the test fills. No real API server can run on these machines.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';

/** A stored object: any JSON object with Kubernetes metadata. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

interface ResourceType {
  readonly groupVersion: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Custom resources: PUT/PATCH on the object ignore status; /status changes only status. */
  readonly statusSubresource: boolean;
}

const RESOURCE_TYPES: readonly ResourceType[] = [
  { groupVersion: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, statusSubresource: false },
  { groupVersion: 'v1', plural: 'services', kind: 'Service', namespaced: true, statusSubresource: false },
  { groupVersion: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, statusSubresource: false },
  { groupVersion: 'apps/v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, statusSubresource: false },
  { groupVersion: 'batch/v1', plural: 'jobs', kind: 'Job', namespaced: true, statusSubresource: false },
  {
    groupVersion: 'tripline.io/v1alpha1',
    plural: 'runtimepolicies',
    kind: 'RuntimePolicy',
    namespaced: true,
    statusSubresource: true,
  },
  {
    groupVersion: 'tripline.io/v1alpha1',
    plural: 'runtimebaselines',
    kind: 'RuntimeBaseline',
    namespaced: true,
    statusSubresource: true,
  },
];

interface WatchEventRecord {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly res: ResourceType;
  readonly obj: KubeObject;
  /** The object before a MODIFIED, to send DELETED when it leaves a selector. */
  readonly old: KubeObject | undefined;
}

interface Watcher {
  readonly res: ResourceType;
  readonly namespace: string | undefined;
  readonly matches: (o: KubeObject) => boolean;
  readonly bookmarks: boolean;
  readonly response: ServerResponse;
}

/** Who a token belongs to, for TokenReview. */
export interface FakeTokenIdentity {
  readonly username: string;
  readonly audiences: readonly string[];
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

export interface FakeKubeApi {
  readonly url: string;
  /** A KubeConfig pointing at this server with a valid client token. */
  kubeConfig(): KubeConfig;
  /** Creates or replaces an object (as a controller or kubelet would); returns the stored copy. */
  put(obj: KubeObject): KubeObject;
  /** Merges `patch` into an existing object (as kubectl edit would); returns the stored copy. */
  patch(apiVersion: string, kind: string, namespace: string, name: string, patch: Record<string, unknown>): KubeObject;
  /** Deletes an object; returns whether it existed. */
  remove(apiVersion: string, kind: string, namespace: string, name: string): boolean;
  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined;
  list(apiVersion: string, kind: string): KubeObject[];
  /** Forgets event history (etcd compaction): a watch from an older resourceVersion than the current one gets 410 Gone. */
  compact(): void;
  /** Ends every open watch stream abruptly (as an API server restart or a proxy would). */
  dropWatches(): number;
  /** Ends every open watch stream cleanly, as the API server does when a watch's timeout expires. */
  endWatches(): number;
  /** Sends a BOOKMARK at the current resourceVersion to watches that asked for them. */
  bookmark(): number;
  /** Open watch streams. */
  readonly watchCount: number;
  /** The current (latest) resourceVersion. */
  readonly resourceVersion: string;
  /** Registers a token TokenReview accepts. */
  addToken(token: string, identity: FakeTokenIdentity): void;
  /** While true every request gets 503 (an API server that is down behind a load balancer). */
  setUnavailable(down: boolean): void;
  readonly requests: readonly RequestRecord[];
  close(): Promise<void>;
}

const CLIENT_TOKEN = 'fake-client-token';

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const store = new Map<ResourceType, Map<string, KubeObject>>(RESOURCE_TYPES.map((r) => [r, new Map()]));
  const history: WatchEventRecord[] = [];
  const watchers = new Set<Watcher>();
  const tokens = new Map<string, FakeTokenIdentity>();
  const requests: RequestRecord[] = [];
  let rv = 100;
  let compactedRv = 0;
  let unavailable = false;

  const keyOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;
  const typeFor = (apiVersion: string, kind: string): ResourceType => {
    const t = RESOURCE_TYPES.find((r) => r.groupVersion === apiVersion && r.kind === kind);
    if (!t) throw new Error(`fake API server: unknown type ${apiVersion} ${kind}`);
    return t;
  };

  function record(type: WatchEventRecord['type'], res: ResourceType, obj: KubeObject, old?: KubeObject): void {
    const ev: WatchEventRecord = { rv, type, res, obj, old };
    history.push(ev);
    for (const w of watchers) deliver(w, ev);
  }

  function deliver(w: Watcher, ev: WatchEventRecord): void {
    if (w.res !== ev.res) return;
    if (w.namespace !== undefined && ev.obj.metadata.namespace !== w.namespace) return;
    const now = w.matches(ev.obj);
    const before = ev.old !== undefined && w.matches(ev.old);
    let type: string | undefined;
    if (ev.type === 'MODIFIED') type = now ? (before ? 'MODIFIED' : 'ADDED') : before ? 'DELETED' : undefined;
    else type = now ? ev.type : undefined;
    if (type) w.response.write(`${JSON.stringify({ type, object: ev.obj })}\n`);
  }

  function store1(res: ResourceType, obj: KubeObject, old: KubeObject | undefined): KubeObject {
    rv += 1;
    const meta = { ...obj.metadata, resourceVersion: String(rv) } as KubeObject['metadata'];
    if (!old)
      Object.assign(meta, {
        uid: (obj.metadata as { uid?: string }).uid ?? randomUUID(),
        creationTimestamp: new Date().toISOString(),
        generation: 1,
      });
    else {
      const oldMeta = old.metadata as Record<string, unknown>;
      const specChanged = JSON.stringify(old['spec']) !== JSON.stringify(obj['spec']);
      Object.assign(meta, {
        uid: oldMeta['uid'],
        creationTimestamp: oldMeta['creationTimestamp'],
        generation: Number(oldMeta['generation'] ?? 1) + (specChanged ? 1 : 0),
      });
    }
    const stored: KubeObject = { ...obj, apiVersion: res.groupVersion, kind: res.kind, metadata: meta };
    store.get(res)!.set(keyOf(meta.namespace, meta.name), stored);
    record(old ? 'MODIFIED' : 'ADDED', res, stored, old);
    return structuredClone(stored);
  }

  function removeObj(res: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    const m = store.get(res)!;
    const old = m.get(keyOf(ns, name));
    if (!old) return undefined;
    m.delete(keyOf(ns, name));
    rv += 1;
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } };
    record('DELETED', res, gone);
    return gone;
  }

  function status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }),
    );
  }

  function json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  }

  /** Parses /api/v1/... and /apis/<group>/<version>/... into a resource, namespace, name, subresource. */
  function route(
    path: string,
  ): { res: ResourceType; ns: string | undefined; name: string | undefined; sub: string | undefined } | undefined {
    const parts = path.split('/').filter(Boolean);
    let gv: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') [gv, rest] = ['v1', parts.slice(2)];
    else if (parts[0] === 'apis' && parts.length >= 3) [gv, rest] = [`${parts[1]}/${parts[2]}`, parts.slice(3)];
    else return undefined;
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const res = RESOURCE_TYPES.find((r) => r.groupVersion === gv && r.plural === rest[0]);
    if (!res) return undefined;
    return { res, ns, name: rest[1], sub: rest[2] };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    requests.push({ method, path: url.pathname, query: url.searchParams });
    if (unavailable)
      return status(res, 503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
    if (req.headers.authorization !== `Bearer ${CLIENT_TOKEN}`) return status(res, 401, 'Unauthorized', 'Unauthorized');

    if (method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const body = (await readBody(req)) as { spec?: { token?: string; audiences?: string[] } };
      const id = tokens.get(body?.spec?.token ?? '');
      const wanted = body?.spec?.audiences ?? [];
      const audiences = id ? (wanted.length ? wanted.filter((a) => id.audiences.includes(a)) : [...id.audiences]) : [];
      const ok = id !== undefined && (wanted.length === 0 || audiences.length > 0);
      return json(res, 201, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { audiences: wanted },
        status: ok
          ? {
              authenticated: true,
              user: { username: id.username, groups: ['system:serviceaccounts', 'system:authenticated'] },
              audiences,
            }
          : { authenticated: false, error: 'invalid bearer token' },
      });
    }

    const r = route(url.pathname);
    if (!r) return status(res, 404, 'NotFound', `the server could not find the requested resource ${url.pathname}`);
    const objects = store.get(r.res)!;
    const labelSel = url.searchParams.get('labelSelector') ?? '';
    const fieldSel = url.searchParams.get('fieldSelector') ?? '';
    let matches: (o: KubeObject) => boolean;
    try {
      const l = parseLabelSelector(labelSel);
      const f = parseFieldSelector(fieldSel);
      matches = (o) => l(o.metadata.labels ?? {}) && f(o);
    } catch (err) {
      return status(res, 400, 'BadRequest', (err as Error).message);
    }

    if (method === 'GET' && r.name === undefined) {
      const watch = url.searchParams.get('watch');
      if (watch === 'true' || watch === '1') return startWatch(r.res, r.ns, matches, url.searchParams, res);
      const all = [...objects.values()].filter(
        (o) => (r.ns === undefined || o.metadata.namespace === r.ns) && matches(o),
      );
      all.sort((a, b) =>
        keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name)),
      );
      const limit = Number(url.searchParams.get('limit') ?? 0);
      const offset = Number(Buffer.from(url.searchParams.get('continue') ?? '', 'base64url').toString() || 0);
      const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
      const more = limit > 0 && offset + limit < all.length;
      return json(res, 200, {
        apiVersion: r.res.groupVersion,
        kind: `${r.res.kind}List`,
        metadata: {
          resourceVersion: String(rv),
          ...(more ? { continue: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
        },
        items: page,
      });
    }

    const existing = r.name !== undefined ? objects.get(keyOf(r.ns, r.name)) : undefined;
    if (method === 'GET')
      return existing
        ? json(res, 200, existing)
        : status(res, 404, 'NotFound', `${r.res.plural} "${r.name}" not found`);

    if (method === 'POST' && r.name === undefined) {
      const body = (await readBody(req)) as KubeObject;
      const name = body?.metadata?.name;
      if (!name) return status(res, 422, 'Invalid', 'metadata.name: Required value');
      if (!isDns1123Subdomain(name)) return status(res, 422, 'Invalid', `metadata.name: Invalid value: "${name}"`);
      if (objects.has(keyOf(r.ns, name)))
        return status(res, 409, 'AlreadyExists', `${r.res.plural} "${name}" already exists`);
      const { status: _ignored, ...rest } = body;
      const obj: KubeObject = {
        ...(r.res.statusSubresource ? rest : body),
        metadata: { ...body.metadata, namespace: r.ns },
      } as KubeObject;
      return json(res, 201, store1(r.res, obj, undefined));
    }

    if (!existing || r.name === undefined) return status(res, 404, 'NotFound', `${r.res.plural} "${r.name}" not found`);

    if (method === 'DELETE') return json(res, 200, removeObj(r.res, r.ns, r.name));

    if (method === 'PUT' || method === 'PATCH') {
      let body = (await readBody(req)) as KubeObject;
      if (method === 'PATCH') {
        const ct = req.headers['content-type'] ?? '';
        if (!ct.startsWith('application/merge-patch+json'))
          return status(res, 415, 'UnsupportedMediaType', `unsupported patch type ${ct}`);
        const wantRv = (body?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
        if (wantRv !== undefined && wantRv !== existing.metadata.resourceVersion) return conflict(res, r.res, r.name);
        body = mergePatch(structuredClone(existing), body) as KubeObject;
      } else if (
        body?.metadata?.resourceVersion !== undefined &&
        body.metadata.resourceVersion !== existing.metadata.resourceVersion
      ) {
        return conflict(res, r.res, r.name);
      }
      let next: KubeObject;
      if (r.sub === 'status') next = { ...existing, status: body['status'] };
      else if (r.res.statusSubresource) next = { ...body, status: existing['status'] } as KubeObject;
      else next = body;
      next = { ...next, metadata: { ...next.metadata, name: r.name, namespace: r.ns } };
      if (next['status'] === undefined) delete next['status'];
      return json(res, 200, store1(r.res, next, existing));
    }
    return status(res, 405, 'MethodNotAllowed', method);
  }

  function conflict(res: ServerResponse, t: ResourceType, name: string): void {
    status(
      res,
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${t.plural}.${t.groupVersion.split('/')[0]} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    );
  }

  function startWatch(
    t: ResourceType,
    ns: string | undefined,
    matches: (o: KubeObject) => boolean,
    q: URLSearchParams,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = q.get('resourceVersion') ?? '';
    const w: Watcher = {
      res: t,
      namespace: ns,
      matches,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      response: res,
    };
    if (from !== '' && from !== '0' && Number(from) < compactedRv) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${compactedRv})`, reason: 'Expired', code: 410 } })}\n`,
      );
      return;
    }
    if (from === '' || from === '0') {
      for (const o of store.get(t)!.values())
        if ((ns === undefined || o.metadata.namespace === ns) && matches(o))
          res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const ev of history) if (ev.rv > Number(from)) deliver(w, ev);
    }
    watchers.add(w);
    res.on('close', () => watchers.delete(w));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) status(res, 500, 'InternalError', err.message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'tester', token: CLIENT_TOKEN }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
        currentContext: 'fake',
      });
      return kc;
    },
    put(obj) {
      const t = typeFor(obj.apiVersion ?? '', obj.kind ?? '');
      return store1(t, structuredClone(obj), store.get(t)!.get(keyOf(obj.metadata.namespace, obj.metadata.name)));
    },
    patch(apiVersion, kind, namespace, name, p) {
      const t = typeFor(apiVersion, kind);
      const old = store.get(t)!.get(keyOf(t.namespaced ? namespace : undefined, name));
      if (!old) throw new Error(`fake API server: ${kind} ${namespace}/${name} not found`);
      return store1(t, mergePatch(structuredClone(old), p) as KubeObject, old);
    },
    remove(apiVersion, kind, namespace, name) {
      const t = typeFor(apiVersion, kind);
      return removeObj(t, t.namespaced ? namespace : undefined, name) !== undefined;
    },
    get(apiVersion, kind, namespace, name) {
      const t = typeFor(apiVersion, kind);
      const o = store.get(t)!.get(keyOf(t.namespaced ? namespace : undefined, name));
      return o && structuredClone(o);
    },
    list(apiVersion, kind) {
      return [...store.get(typeFor(apiVersion, kind))!.values()].map((o) => structuredClone(o));
    },
    compact() {
      compactedRv = rv;
      history.length = 0;
    },
    dropWatches() {
      const n = watchers.size;
      for (const w of watchers) w.response.socket?.destroy();
      watchers.clear();
      return n;
    },
    endWatches() {
      const n = watchers.size;
      for (const w of watchers) w.response.end();
      watchers.clear();
      return n;
    },
    bookmark() {
      let n = 0;
      for (const w of watchers) {
        if (!w.bookmarks) continue;
        w.response.write(
          `${JSON.stringify({ type: 'BOOKMARK', object: { kind: w.res.kind, apiVersion: w.res.groupVersion, metadata: { resourceVersion: String(rv) } } })}\n`,
        );
        n += 1;
      }
      return n;
    },
    get watchCount() {
      return watchers.size;
    },
    get resourceVersion() {
      return String(rv);
    },
    addToken(token, identity) {
      tokens.set(token, identity);
    },
    setUnavailable(down) {
      unavailable = down;
    },
    requests,
    async close() {
      for (const w of watchers) w.response.socket?.destroy();
      watchers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

/** Equality-based and set-based label selectors, as `kubectl -l` writes them. */
function parseLabelSelector(sel: string): (labels: Record<string, string>) => boolean {
  const terms: ((l: Record<string, string>) => boolean)[] = [];
  for (const raw of sel.match(/([^,(]+(\([^)]*\))?)/g) ?? []) {
    const term = raw.trim();
    if (!term) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const [, key, op, vals] = m as unknown as [string, string, string, string];
      const set = new Set(vals.split(',').map((v) => v.trim()));
      terms.push(
        op === 'in' ? (l) => l[key] !== undefined && set.has(l[key]) : (l) => l[key] === undefined || !set.has(l[key]),
      );
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term))) {
      const [, key, op, val] = m as unknown as [string, string, string, string];
      terms.push(op === '!=' ? (l) => l[key] !== val : (l) => l[key] === val);
    } else if ((m = /^!([\w./-]+)$/.exec(term))) {
      const key = m[1]!;
      terms.push((l) => l[key] === undefined);
    } else if ((m = /^([\w./-]+)$/.exec(term))) {
      const key = m[1]!;
      terms.push((l) => l[key] !== undefined);
    } else throw new Error(`unable to parse requirement: ${term}`);
  }
  return (l) => terms.every((t) => t(l));
}

/** The field selectors the API server supports for pods and generic metadata. */
function parseFieldSelector(sel: string): (o: KubeObject) => boolean {
  const terms: ((o: KubeObject) => boolean)[] = [];
  for (const raw of sel.split(',')) {
    const term = raw.trim();
    if (!term) continue;
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new Error(`invalid field selector: ${term}`);
    const [, field, op, val] = m as unknown as [string, string, string, string];
    if (!['spec.nodeName', 'metadata.name', 'metadata.namespace', 'status.phase'].includes(field))
      throw new Error(`field label not supported: ${field}`);
    const read = (o: KubeObject): string => {
      let cur: unknown = o;
      for (const p of field.split('.'))
        cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
      return typeof cur === 'string' ? cur : '';
    };
    terms.push(op === '!=' ? (o) => read(o) !== val : (o) => read(o) === val);
  }
  return (o) => terms.every((t) => t(o));
}
