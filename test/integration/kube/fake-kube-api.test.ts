/**
 * The fake API server stands in for a real one in every kube test, so its protocol
 * behaviour is pinned here, spoken to over raw HTTP the way client libraries do.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { pod } from './fixtures.js';

const AUTH = { authorization: 'Bearer fake-client-token' };

type WatchEvent = {
  type: string;
  object: { metadata: { name: string; resourceVersion: string } } & Record<string, unknown>;
};

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(
  api: FakeKubeApi,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, { method, headers: { ...AUTH, 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Opens a watch and collects its events until `n` arrived or the stream ended. */
function watch(api: FakeKubeApi, path: string, n: number): Promise<WatchEvent[]> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const req = request(`${api.url}${path}`, { headers: AUTH }, (res) => {
      let buf = '';
      res.on('data', (c) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          if (events.length === n) {
            req.destroy();
            resolve(events);
          }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (e) => (events.length >= n ? undefined : reject(e)));
    req.end();
  });
}

describe('the fake API server itself', () => {
  let api: FakeKubeApi;
  beforeEach(async () => {
    api = await startFakeKubeApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('requires the client token, like an API server without anonymous auth (fake API server)', async () => {
    const r = await new Promise<number>((resolve) =>
      request(`${api.url}/api/v1/pods`, (res) => resolve(res.statusCode ?? 0)).end(),
    );
    expect(r).toBe(401);
  });

  it('lists with resourceVersion, label and field selectors, and pages with limit/continue (fake API server)', async () => {
    api.put(pod({ name: 'a', node: 'n1', labels: { app: 'web', tier: 'fe' } }));
    api.put(pod({ name: 'b', node: 'n2', labels: { app: 'web' } }));
    api.put(pod({ name: 'c', node: 'n1', labels: { app: 'db' } }));
    const names = (r: Reply) => (r.body['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    const all = await call(api, 'GET', '/api/v1/pods');
    expect((all.body['metadata'] as { resourceVersion: string }).resourceVersion).toBe(api.resourceVersion);
    expect(names(await call(api, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1'))).toEqual(['a', 'c']);
    expect(names(await call(api, 'GET', '/api/v1/pods?labelSelector=app%3Dweb,tier'))).toEqual(['a']);
    expect(names(await call(api, 'GET', '/api/v1/pods?labelSelector=app%20in%20(db,cache)'))).toEqual(['c']);
    expect(names(await call(api, 'GET', '/api/v1/pods?labelSelector=!tier,app!%3Ddb'))).toEqual(['b']);
    const page1 = await call(api, 'GET', '/api/v1/namespaces/default/pods?limit=2');
    expect(names(page1)).toEqual(['a', 'b']);
    const cont = (page1.body['metadata'] as { continue: string }).continue;
    expect(names(await call(api, 'GET', `/api/v1/namespaces/default/pods?limit=2&continue=${cont}`))).toEqual(['c']);
    expect((await call(api, 'GET', '/api/v1/pods?fieldSelector=spec.schedulerName%3Dx')).status).toBe(400);
  });

  it('streams watch events after a resourceVersion, DELETED when an object leaves the selector, 410 when compacted (fake API server)', async () => {
    api.put(pod({ name: 'a', labels: { app: 'web' } }));
    const from = api.resourceVersion;
    const events = watch(api, `/api/v1/pods?watch=true&resourceVersion=${from}&labelSelector=app%3Dweb`, 3);
    api.put(pod({ name: 'b', labels: { app: 'web' } }));
    api.put(pod({ name: 'x', labels: { app: 'db' } }));
    api.patch('v1', 'Pod', 'default', 'a', { metadata: { labels: { app: 'db' } } });
    api.remove('v1', 'Pod', 'default', 'b');
    const got = await events;
    expect(got.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['ADDED:b', 'DELETED:a', 'DELETED:b']);
    expect(Number(got[2]!.object.metadata.resourceVersion)).toBeGreaterThan(Number(from));
    api.compact();
    const gone = await watch(api, `/api/v1/pods?watch=true&resourceVersion=${from}`, 1);
    expect(gone[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  it('sends BOOKMARKs only to watches that asked (fake API server)', async () => {
    const plain = watch(api, `/api/v1/pods?watch=true&resourceVersion=${api.resourceVersion}`, 1);
    const marked = watch(
      api,
      `/api/v1/pods?watch=true&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true`,
      1,
    );
    while (api.watchCount < 2) await new Promise((r) => setImmediate(r));
    expect(api.bookmark()).toBe(1);
    expect((await marked)[0]).toMatchObject({
      type: 'BOOKMARK',
      object: { metadata: { resourceVersion: api.resourceVersion } },
    });
    api.endWatches();
    expect(await plain).toEqual([]);
  });

  it('custom resources: create, 409 on a stale replace, merge-patch, status subresource, delete (fake API server)', async () => {
    const base = '/apis/tripline.io/v1alpha1/namespaces/shop/runtimebaselines';
    const created = await call(api, 'POST', base, {
      apiVersion: 'tripline.io/v1alpha1',
      kind: 'RuntimeBaseline',
      metadata: { name: 'b1' },
      spec: { state: 'learning' },
      status: { phase: 'ignored' },
    });
    expect(created.status).toBe(201);
    expect(created.body['status']).toBeUndefined();
    const meta = created.body['metadata'] as { resourceVersion: string; generation: number };
    expect(meta.generation).toBe(1);
    expect((await call(api, 'POST', base, { metadata: { name: 'b1' } })).status).toBe(409);
    expect((await call(api, 'POST', base, { metadata: { name: 'Not_Valid' } })).status).toBe(422);
    const ok = await call(api, 'PUT', `${base}/b1`, {
      metadata: { name: 'b1', resourceVersion: meta.resourceVersion },
      spec: { state: 'stable' },
    });
    expect(ok.status).toBe(200);
    expect((ok.body['metadata'] as { generation: number }).generation).toBe(2);
    const stale = await call(api, 'PUT', `${base}/b1`, {
      metadata: { name: 'b1', resourceVersion: meta.resourceVersion },
      spec: { state: 'locked' },
    });
    expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict', code: 409 } });
    expect((await call(api, 'PATCH', `${base}/b1`, { spec: { x: 1 } }, 'application/json-patch+json')).status).toBe(
      415,
    );
    const patched = await call(
      api,
      'PATCH',
      `${base}/b1/status`,
      { status: { phase: 'stable' } },
      'application/merge-patch+json',
    );
    expect(patched.body).toMatchObject({
      spec: { state: 'stable' },
      status: { phase: 'stable' },
      metadata: { generation: 2 },
    });
    const specPatch = await call(
      api,
      'PATCH',
      `${base}/b1`,
      { spec: { partial: true }, status: { phase: 'dropped' } },
      'application/merge-patch+json',
    );
    expect(specPatch.body).toMatchObject({ spec: { state: 'stable', partial: true }, status: { phase: 'stable' } });
    expect((await call(api, 'DELETE', `${base}/b1`)).status).toBe(200);
    expect((await call(api, 'GET', `${base}/b1`)).status).toBe(404);
  });
});
