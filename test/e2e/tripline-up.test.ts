/**
 * End to end on the real kernel: `tripline up` (collector + eBPF agent, one process)
 * learns a workload running in a kubelet-named cgroup until its profile is stable, stays
 * silent while the workload keeps doing what it learned, then reports one incident per
 * rule — with the right severity and workload — at a loopback HTTPS webhook, and keeps
 * profiles and incident counts across a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupSandbox, type TestContainerCgroup } from '../helpers/cgroup.js';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq.js';
import { startHttpsReceiver, type HttpsReceiver } from '../helpers/https-receiver.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SECRET = 'e2e-webhook-secret-0123456789';
/** The resolver the agent trusts, and the addresses its names point at (each a confidential network of its own in config). */
const RESOLVER = '127.0.0.153';
const API_NAME = 'api.example.test';
const [API_FIRST, API_ROTATED, OTHER_API] = ['127.0.0.77', '127.0.0.78', '127.0.0.79'];

interface Up {
  readonly child: ChildProcess;
  readonly api: string;
  readonly exited: Promise<number | null>;
}

function listen(host: string, port = 0): Promise<Server & { port: number }> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.end());
    s.once('error', reject);
    s.listen(port, host, () => resolve(Object.assign(s, { port: (s.address() as { port: number }).port })));
  });
}

/**
 * A free port below the ephemeral range: profiles generalise ports ≥ 32768 to
 * "ephemeral", so a listener there would not be new to a workload that has one.
 */
async function listenBelowEphemeral(host = '127.0.0.1'): Promise<Server & { port: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await listen(host, 20_000 + Math.floor(Math.random() * 10_000));
    } catch (err) {
      if (attempt > 50) throw err;
    }
  }
}

async function freeFixedPort(): Promise<number> {
  const s = await listenBelowEphemeral();
  await new Promise((r) => s.close(r));
  return s.port;
}

/** Starts `tripline up` from source and resolves once its API answers. */
async function startUp(configFile: string): Promise<Up> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/main.ts'), 'up', '--config', configFile], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const apiPort = await waitFor(
    () => {
      const m = /"apiPort":(\d+)/.exec(log);
      if (!m && child.exitCode !== null) throw new Error(`tripline up exited ${child.exitCode}: ${log}`);
      return m && /"agent started"/.test(log) ? Number(m[1]) : undefined;
    },
    { timeoutMs: 30_000, what: 'tripline up to start' },
  );
  return { child, api: `http://127.0.0.1:${apiPort}`, exited };
}

describe('tripline up end to end (real kernel, real HTTPS webhook)', () => {
  const sandbox = createCgroupSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'tripline-e2e-'));
  const protectedFile = `/etc/tripline-e2e-${process.pid}`;
  let receiver: HttpsReceiver;
  let cg: TestContainerCgroup;
  let up: Up;
  let token: string;
  let workloadKey: string;
  let configFile: string;
  /** The first unexpected-exec incident (the shell), counted again after the restart. */
  let shellIncident: { id: string; count: number };
  const servers: Server[] = [];
  let publicPeerPort = 0;
  let apiPort = 0;
  let rotatedApi: Server;
  let dns: Dnsmasq | undefined;
  const children: ChildProcess[] = [];

  const api = async (path: string, init: RequestInit = {}): Promise<unknown> => {
    const res = await fetch(`${up.api}${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const ours = () => [...receiver.accepted.values()].filter((i) => (i.workload as { key: string }).key === workloadKey);
  const incident = (rule: string, key?: string) =>
    waitFor(() => ours().find((i) => i.rule === rule && (key === undefined || i.key === key)), {
      timeoutMs: 20_000,
      what: `a ${rule} incident${key ? ` for ${key}` : ''} at the webhook`,
    });
  const inWorkload = (script: string) => cg.run(process.execPath, ['-e', script]);

  beforeAll(async () => {
    receiver = await startHttpsReceiver({ secret: SECRET });
    const peer = await listenBelowEphemeral();
    const publicPeer = await listenBelowEphemeral('127.0.0.99');
    servers.push(peer, publicPeer);
    publicPeerPort = publicPeer.port;
    const api = await listenBelowEphemeral(API_FIRST);
    apiPort = api.port;
    rotatedApi = await listen(API_ROTATED, apiPort);
    servers.push(api, rotatedApi, await listen(OTHER_API, apiPort));
    dns = await startDnsmasq(RESOLVER, { [API_NAME]: API_FIRST });
    cg = sandbox.container('containerd');
    workloadKey = `local//Pod/${cg.podUid}/${cg.containerId.slice(0, 12)}`;
    configFile = join(dir, 'tripline.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        logLevel: 'info',
        ingest: { listen: '127.0.0.1:0' },
        api: { listen: '127.0.0.1:0' },
        policy: { mode: 'detect', learning: { minDuration: '4s', stableFor: '3s', maxDuration: '60s' } },
        enrich: {
          workloadTiers: [{ match: `local//Pod/${cg.podUid}/**`, tier: 'confidential' }],
          // One network per API address: only the name can make them one peer.
          networks: {
            '127.0.0.99/32': 'public',
            [`${API_FIRST}/32`]: 'confidential',
            [`${API_ROTATED}/32`]: 'confidential',
            [`${OTHER_API}/32`]: 'confidential',
          },
        },
        sensor: { ebpf: { dnsResolvers: [RESOLVER] } },
        sinks: [
          {
            id: 'soc',
            type: 'webhook',
            url: receiver.url,
            hmacSecret: SECRET,
            minSeverity: 'info',
            tls: { caFile: receiver.caFile },
          },
        ],
        incidents: { delivery: { backoffInitialMs: 100 } },
      }),
    );
    up = await startUp(configFile);
    token = readFileSync(join(dir, 'data', 'api-token'), 'utf8').trim();
    const workloadPort = await freeFixedPort();
    const workload = cg.spawn(process.execPath, [
      join(ROOT, 'test/e2e/workload.mjs'),
      join(dir, 'wl'),
      String(workloadPort),
      String(peer.port),
      RESOLVER,
      API_NAME,
      String(apiPort),
    ]);
    children.push(workload);
    // The actions below start short node processes in the cgroup: let learning see one.
    await inWorkload('require("node:fs").readFileSync("/etc/hostname")');
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
    await sandbox.cleanup();
    await dns?.stop();
    for (const s of servers) s.close();
    await receiver?.close();
    rmSync(protectedFile, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('learns the workload until its profile is stable', async () => {
    const profile = (await waitFor(
      async () => {
        const p = (await api(`/api/v1/profiles/${encodeURIComponent(workloadKey)}`).catch(() => undefined)) as
          { state: string; items: { kind: string; key: string }[] } | undefined;
        return p?.state === 'stable' ? p : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: 'a stable profile' },
    )) as { items: { kind: string; key: string }[] };
    const kinds = new Set(profile.items.map((i) => i.kind));
    expect([...kinds].sort()).toEqual(['egress', 'exec', 'file', 'listen', 'syscall']);
    // The API it calls by name is learned by that name, not by the address it had then.
    const egress = profile.items.filter((i) => i.kind === 'egress').map((i) => i.key);
    expect(egress).toContain(`${API_NAME}:tcp/${apiPort}`);
    expect(egress.some((k) => k.startsWith(API_FIRST))).toBe(false);
  }, 60_000);

  it('stays silent while the workload repeats what it learned, also when its API moves address', async () => {
    // The API's name now answers with another address (a rotation, as CDNs and cloud APIs
    // do); the resolver also knows a name the workload never used, for the next test.
    await dns!.stop();
    dns = await startDnsmasq(RESOLVER, { [API_NAME]: API_ROTATED, 'other.example.test': OTHER_API });
    await new Promise((r) => rotatedApi.once('connection', r));
    // An observation window, not a synchronisation: benign traffic keeps running meanwhile.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(ours()).toEqual([]);
  }, 20_000);

  it('raises one incident per rule with the right severity and workload', async () => {
    // Severities are the rule defaults: a confidential workload adds +5 to the score, which
    // stays inside each default's band.
    await cg.run('/bin/sh', ['-c', 'true']);
    const shell = await incident('unexpected-exec');
    expect(shell).toMatchObject({ severity: 'high', context: expect.arrayContaining(['tier:confidential']) });
    shellIncident = { id: String(shell.id), count: Number(shell.count) };

    await cg.run('/bin/sh', ['-c', `cp /bin/true ${dir}/wl/dropped && ${dir}/wl/dropped`]);
    expect(await incident('dropped-binary-exec')).toMatchObject({ severity: 'critical' });

    await cg.run('unshare', ['--user', 'true']);
    // unshare is one of the syscalls container escapes use: scored above the rule's default.
    expect(await incident('unexpected-syscall', 'unshare')).toMatchObject({
      severity: 'critical',
      context: expect.arrayContaining(['dangerous-syscall']),
    });

    await inWorkload(`require("node:fs").writeFileSync(${JSON.stringify(protectedFile)}, "x")`);
    expect(await incident('protected-path-write')).toMatchObject({ severity: 'high' });
    unlinkSync(protectedFile);

    await inWorkload(
      `const fs=require("node:fs");fs.mkdirSync("${dir}/wl/elsewhere",{recursive:true});fs.writeFileSync("${dir}/wl/elsewhere/new.bin","x")`,
    );
    expect(await incident('unexpected-file-write')).toMatchObject({ severity: 'low' });

    const newPort = await freeFixedPort();
    await inWorkload(`const s=require("node:net").createServer().listen(${newPort},"127.0.0.1",()=>s.close())`);
    expect(await incident('new-listener', `tcp/${newPort}`)).toMatchObject({ severity: 'high' });

    const other = await listenBelowEphemeral();
    servers.push(other);
    await inWorkload(`const s=require("node:net").connect(${other.port},"127.0.0.1",()=>s.end())`);
    expect(await incident('unexpected-egress', `${workloadKey}:tcp/${other.port}`)).toMatchObject({
      severity: 'medium',
    });

    await inWorkload(
      `const s=require("node:net").connect(${publicPeerPort},"127.0.0.99",()=>s.end());s.on("error",()=>{})`,
    );
    // confidential → the internet (127.0.0.99 is mapped to the public tier in config).
    expect(await incident('cross-sensitivity-flow')).toMatchObject({
      severity: expect.stringMatching(/^(high|critical)$/),
    });

    // A name the workload never called, looked up at the trusted resolver.
    await inWorkload(
      `const r=new (require("node:dns/promises").Resolver)();r.setServers(["${RESOLVER}"]);` +
        `r.resolve4("other.example.test").then(([ip])=>{const s=require("node:net").connect(${apiPort},ip,()=>s.end());})`,
    );
    // Outside the cluster: scored above the rule's default.
    expect(await incident('unexpected-egress', `other.example.test:tcp/${apiPort}`)).toMatchObject({
      severity: 'high',
      context: expect.arrayContaining(['peer:external']),
      evidence: { ip: OTHER_API, dnsName: 'other.example.test' },
    });

    for (const i of ours()) expect((i.workload as { key: string }).key).toBe(workloadKey);
    expect(receiver.duplicates).toEqual([]);
  }, 120_000);

  it('keeps profiles and incident counts across a restart', async () => {
    const first = (await api(`/api/v1/incidents/${shellIncident.id}`)) as { id: string; count: number };
    expect(first.count).toBeGreaterThanOrEqual(shellIncident.count);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    up = await startUp(configFile);
    const profile = (await api(`/api/v1/profiles/${encodeURIComponent(workloadKey)}`)) as { state: string };
    expect(profile.state).toBe('stable');
    await cg.run('/bin/sh', ['-c', 'true']);
    await waitFor(
      async () => {
        const i = (await api(`/api/v1/incidents/${first.id}`).catch(() => undefined)) as { count: number } | undefined;
        return i && i.count > first.count;
      },
      { timeoutMs: 20_000, what: 'the restored incident to count the repeat' },
    );
  }, 90_000);
});
