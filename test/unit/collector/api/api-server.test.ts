import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createApiServer, type ApiServer } from '../../../../collector/api/api-server.js';
import { networkPolicy } from '../../../../collector/api/exports.js';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IncidentQueries, ProfileOperations } from '../../../../collector/api/api-operations.js';
import type { ProfileSnapshot } from '../../../../proto/profile.js';
import type { Incident } from '../../../../proto/incident.js';
import { silentLogger } from '../../../../lib/logger.js';
import { unresolvedContainer } from '../../../../proto/events.js';

const workload = { cluster: 'local', namespace: 'shop', kind: 'Deployment', name: 'web', container: 'nginx' };
const key = 'local/shop/Deployment/web/nginx';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();

function profile(): ProfileSnapshot {
  const item = (kind: 'exec' | 'syscall' | 'listen' | 'egress', k: string) => ({
    kind,
    key: k,
    firstSeenMs: 1,
    lastSeenMs: 2,
    count: 1,
    replicas: 1,
    origin: 'learned' as const,
    suspect: false,
    imageDigest: '',
    pendingReview: false,
  });
  return {
    workload,
    key,
    state: 'stable',
    partial: false,
    learningStartedMs: 0,
    lastNovelMs: 0,
    stableSinceMs: 1000,
    imageDigests: [],
    replicaIds: [],
    revision: 1,
    items: [
      item('exec', '/usr/sbin/nginx'),
      item('syscall', 'read'),
      item('syscall', 'accept4'),
      item('listen', 'tcp/8080'),
      item('egress', '127.0.0.99:tcp/443'),
      item('egress', 'api.stripe.com:tcp/443'),
    ],
  };
}

const incident: Incident = {
  id: 'abc123',
  revision: 1,
  rule: 'unexpected-exec',
  severity: 'high',
  score: 75,
  workload,
  workloadKey: key,
  key: '/bin/sh',
  summary: 'exec /bin/sh',
  mitreTechniques: ['T1059'],
  mitreTactics: ['execution'],
  count: 1,
  firstSeenMs: 1,
  lastSeenMs: 1,
  context: [],
  evidence: {
    kind: 'exec',
    timeNs: 1,
    node: 'n',
    seq: 1,
    container: unresolvedContainer(1),
    process: { pid: 1, ppid: 0, uid: 0, exe: '/bin/sh', comm: 'sh', argv: ['sh'] },
    argvTruncated: false,
    cwd: '/',
    writtenByContainer: false,
  },
};

describe('collector HTTP API', () => {
  let server: ApiServer;
  let base: string;
  const approved: string[] = [];

  beforeEach(async () => {
    approved.length = 0;
    const profiles: ProfileOperations = {
      listProfiles: () => [profile()],
      getProfile: (k) => (k === key ? profile() : undefined),
      approve: async (k, kind, itemKey) => {
        approved.push(`${k}|${kind}|${itemKey}`);
        return { ok: true };
      },
      removeItem: async () => ({ ok: false, error: 'no-such-item' }),
      relearn: async () => ({ ok: true }),
      lock: async () => ({ ok: true }),
    };
    const incidents: IncidentQueries = {
      list: () => [incident],
      get: (id) => (id === incident.id ? incident : undefined),
    };
    server = createApiServer({
      log: silentLogger(),
      registry: new Registry(),
      profiles,
      incidents,
      health: () => [{ name: 'ingest', ok: true, detail: 'listening' }],
      token: 's3cret-token',
      host: '127.0.0.1',
      port: 0,
    });
    const { port } = await server.start();
    base = `http://127.0.0.1:${port}`;
  });

  afterEach(async () => {
    await server.stop();
  });

  const auth = { authorization: 'Bearer s3cret-token' };

  it('refuses /api without the token and with a wrong one', async () => {
    expect((await fetch(`${base}/api/v1/profiles`)).status).toBe(401);
    const wrong = await fetch(`${base}/api/v1/profiles`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('serves health, readiness and metrics without a token', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await json(fetch(`${base}/readyz`));
    expect(ready.status).toBe('ready');
    await fetch(`${base}/api/v1/profiles`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tripline_collector_api_requests_total\{route="error",status="4xx"\} 1/);
  });

  it('lists and shows profiles by percent-encoded workload key', async () => {
    const list = await json(fetch(`${base}/api/v1/profiles`, { headers: auth }));
    expect(list.profiles[0]).toMatchObject({ key, state: 'stable', items: 6 });
    const one = await fetch(`${base}/api/v1/profiles/${encodeURIComponent(key)}`, { headers: auth });
    expect((await json(one)).items).toHaveLength(6);
    const missing = await fetch(`${base}/api/v1/profiles/${encodeURIComponent('x/y')}`, { headers: auth });
    expect(missing.status).toBe(404);
  });

  it('approves an incident item into the baseline of its workload', async () => {
    const res = await fetch(`${base}/api/v1/incidents/abc123/approve`, { method: 'POST', headers: auth });
    expect(res.status).toBe(200);
    expect(approved).toEqual([`${key}|exec|/bin/sh`]);
  });

  it('validates tuning requests and maps operation errors to status codes', async () => {
    const url = `${base}/api/v1/profiles/${encodeURIComponent(key)}/items`;
    const bad = await fetch(url, { method: 'POST', headers: auth, body: JSON.stringify({ kind: 'nope', key: 'x' }) });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatch(/item kind must be one of/);
    const notJson = await fetch(url, { method: 'POST', headers: auth, body: '{' });
    expect(notJson.status).toBe(400);
    const gone = await fetch(url, {
      method: 'DELETE',
      headers: auth,
      body: JSON.stringify({ kind: 'exec', key: 'x' }),
    });
    expect(gone.status).toBe(404);
    const ok = await fetch(url, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ kind: 'exec', key: '/bin/ls' }),
    });
    expect(ok.status).toBe(200);
    expect(approved).toContain(`${key}|exec|/bin/ls`);
  });

  it('exports a seccomp profile and a NetworkPolicy from the learned items', async () => {
    const p = `${base}/api/v1/profiles/${encodeURIComponent(key)}/export`;
    const seccomp = await json(fetch(`${p}/seccomp`, { headers: auth }));
    expect(seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(seccomp.syscalls[0].names).toEqual(['accept4', 'read']);
    expect((await fetch(`${p}/networkpolicy`, { headers: auth })).status).toBe(400);
    const np = await json(fetch(`${p}/networkpolicy?selector=app=web`, { headers: auth }));
    expect(np.metadata.namespace).toBe('shop');
    expect(np.spec.podSelector.matchLabels).toEqual({ app: 'web' });
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8080 }]);
    expect(np.spec.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: '127.0.0.99/32' } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
      // A NetworkPolicy has no names: a peer learned by name keeps its port open to the
      // internet (not to private networks), and is handed over by name.
      { to: INTERNET, ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    expect(np.metadata.annotations['tripline.io/egress-by-name']).toBe('api.stripe.com:tcp/443');
  });
});

/** What exports.ts allows for a peer known only by name: public addresses. */
const INTERNET = [
  { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] } },
  { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] } },
];

describe('networkPolicy', () => {
  const egress = (...keys: string[]): ProfileSnapshot => {
    const p = profile();
    return {
      ...p,
      items: keys.map((k) => ({ ...p.items[0]!, kind: 'egress' as const, key: k })),
    };
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the manifest is checked by the assertions
  const exported = (p: ProfileSnapshot): any => {
    const np = networkPolicy(p, { app: 'web' });
    new NetworkPolicy(np).validate(); // the API schema: a rule with ports and no `to` is valid
    return np;
  };

  it('allows the port of a peer learned by name to the internet, however the name looks', () => {
    const np = exported(
      egress('cafe.de:tcp/443', 'api.stripe.com:tcp/443', 'bad.cafe:udp/853', '*.cdn.example.com:tcp/80'),
    );
    expect(np.spec.policyTypes).toContain('Egress');
    expect(np.spec.egress).toEqual([
      { to: INTERNET, ports: [{ protocol: 'TCP', port: 443 }] },
      { to: INTERNET, ports: [{ protocol: 'UDP', port: 853 }] },
      { to: INTERNET, ports: [{ protocol: 'TCP', port: 80 }] },
    ]);
    expect(np.metadata.annotations['tripline.io/egress-by-name']).toBe(
      'cafe.de:tcp/443,api.stripe.com:tcp/443,bad.cafe:udp/853,*.cdn.example.com:tcp/80',
    );
    // Never an opening towards the cluster's own (private) addresses.
    expect(JSON.stringify(np.spec.egress)).not.toContain('namespaceSelector');
  });

  it('keeps addresses and networks as ipBlocks and workloads as namespace selectors', () => {
    const np = exported(
      egress(
        '203.0.113.7:tcp/443',
        '10.20.0.0/16:tcp/5432',
        '2001:db8::7:udp/53',
        '2001:db8::/32:tcp/443',
        'local/payments/Deployment/api/app:tcp/8443',
      ),
    );
    const tcp = (port: number) => [{ protocol: 'TCP', port }];
    expect(np.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '203.0.113.7/32' } }], ports: tcp(443) },
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: tcp(5432) },
      { to: [{ ipBlock: { cidr: '2001:db8::7/128' } }], ports: [{ protocol: 'UDP', port: 53 }] },
      { to: [{ ipBlock: { cidr: '2001:db8::/32' } }], ports: tcp(443) },
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } } }],
        ports: tcp(8443),
      },
    ]);
    expect(np.metadata.annotations['tripline.io/egress-by-name']).toBeUndefined();
  });

  it('leaves out keys that are no address, network, workload or name', () => {
    const np = exported(egress('10.0.0.0/33:tcp/443', 'fe80::1%eth0:tcp/22', 'a/b:tcp/1', 'cafe.de:tcp/0'));
    expect(np.spec.egress).toEqual([]);
  });
});
