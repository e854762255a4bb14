/**
 * DNS names on connects, on the real kernel with a real resolver (dnsmasq): a container
 * that looked a name up at a trusted resolver and then connects to the answer has the
 * connect named; answers from a resolver the agent does not trust, and lookups made by
 * another container, name nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupSandbox, type CgroupSandbox } from '../../helpers/cgroup.js';
import { startDnsmasq, type Dnsmasq } from '../../helpers/dnsmasq.js';
import { waitFor } from '../../helpers/wait.js';
import type { DnsNamespaceSource } from '../../../agent/sensors/ebpf/dns-namespace-source.js';
import { startSensor, type SensorHarness } from './sensor-harness.js';

const NODE = process.execPath;
const TRUSTED = '127.0.0.153';
const UNTRUSTED = '127.0.0.154';
const API = '127.0.0.77';
const C2 = '127.0.0.78';
/** A trusted resolver address that exists only inside a network namespace the test makes. */
const CLUSTER_DNS = '10.96.0.10';

let sandbox: CgroupSandbox | undefined;
const resolvers: Dnsmasq[] = [];
const servers: net.Server[] = [];
let apiPort = 0;
let c2Port = 0;
let v6Port = 0;

async function listen(host: string): Promise<number> {
  const server = net.createServer((s) => s.destroy());
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as net.AddressInfo).port;
}

/** A script that asks `resolver` for `name` (AAAA with `v6`) and connects to the first answer. */
function lookupAndConnect(resolver: string, name: string, port: number, v6 = false): string {
  return (
    `const {Resolver}=require('dns/promises');const net=require('net');` +
    `const r=new Resolver({timeout:2000,tries:1});r.setServers([${JSON.stringify(resolver)}]);` +
    `r.${v6 ? 'resolve6' : 'resolve4'}('${name}').then(([ip])=>new Promise((ok,bad)=>{const c=net.connect(${port},ip);` +
    `c.on('close',ok);c.on('error',bad);})).catch(e=>{console.error(e);process.exit(1);});`
  );
}

beforeAll(async () => {
  resolvers.push(await startDnsmasq(TRUSTED, { 'api.example.test': API }));
  // The same name pointing elsewhere: a workload's own resolver trying to launder a peer.
  resolvers.push(await startDnsmasq(UNTRUSTED, { 'api.example.test': C2 }));
  // IPv6 has one loopback address: the resolver and the service share ::1.
  resolvers.push(await startDnsmasq('::1', { 'api6.example.test': '::1' }));
  apiPort = await listen(API);
  c2Port = await listen(C2);
  v6Port = await listen('::1');
  sandbox = createCgroupSandbox();
});

afterAll(async () => {
  await sandbox?.cleanup();
  for (const s of servers) s.close();
  await Promise.all(resolvers.map((r) => r.stop()));
});

/**
 * Every test runs with each way the kernel side learns an answer's network namespace:
 * the packet program asking the kernel (Linux 6.15+), and the socket's namespace
 * recorded at its creation (older kernels; this kernel runs both).
 */
describe.each<DnsNamespaceSource>(['helper', 'socket'])('DNS names (namespace source: %s)', (source) => {
  let harness: SensorHarness | undefined;
  beforeAll(async () => {
    harness = await startSensor({ dnsResolvers: [TRUSTED, '::1', CLUSTER_DNS] }, { dnsNamespaceSource: source });
    expect(harness.sensor.stats().programs).toContain(source === 'helper' ? 'tl_dns_answer' : 'tl_dns_by_sock');
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('names the connect that follows a lookup at a trusted resolver, in that container only', async () => {
    const looked = sandbox!.container('containerd');
    const r = await looked.run(NODE, ['-e', lookupAndConnect(TRUSTED, 'api.example.test', apiPort)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const named = await harness!.waitForEvent(looked.id, 'connect', (e) => e.ip === API && e.port === apiPort);
    expect(named.dnsName).toBe('api.example.test');

    // Another container connecting to the same address without asking: no name.
    const other = sandbox!.container('containerd');
    const direct = `const c=require('net').connect(${apiPort},'${API}');c.on('close',()=>{});c.on('error',()=>{});`;
    expect((await other.run(NODE, ['-e', direct])).code).toBe(0);
    const unnamed = await harness!.waitForEvent(other.id, 'connect', (e) => e.ip === API && e.port === apiPort);
    expect(unnamed.dnsName).toBe('');

    const metrics = await harness!.registry.getSingleMetricAsString('tripline_agent_dns_answers_total');
    expect(metrics).toMatch(/tripline_agent_dns_answers_total\{result="named"\} [1-9]/);
  });

  it('reads answers over IPv6 (AAAA from an IPv6 resolver)', async () => {
    const cg = sandbox!.container('crio');
    const r = await cg.run(NODE, ['-e', lookupAndConnect('::1', 'api6.example.test', v6Port, true)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const e = await harness!.waitForEvent(cg.id, 'connect', (x) => x.ip === '::1' && x.port === v6Port);
    expect(e.dnsName).toBe('api6.example.test');
  });

  /** dnsmasq answering `api.example.test` with C2 on the trusted cluster address. */
  const clusterDnsmasq =
    `/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces ` +
    `--listen-address=${CLUSTER_DNS} --port=53 --user=root --pid-file --log-facility=/dev/null ` +
    `--host-record=api.example.test,${C2}`;
  /** Looks the name up at the cluster address (retrying until the resolver is up), then connects (refused is fine). */
  const lookupWhenUp = (): string =>
    lookupAndConnect(CLUSTER_DNS, 'api.example.test', c2Port)
      .replace(
        "r.resolve4('api.example.test')",
        "(async()=>{for(let i=0;;i++){try{return await r.resolve4('api.example.test')}catch(e){if(i>50)throw e;await new Promise(s=>setTimeout(s,100))}}})()",
      )
      .replace("c.on('error',bad)", "c.on('error',ok)");

  it('names nothing outside the network namespace an answer reached', async () => {
    // The client runs in a namespace of its own, reaching a resolver namespace over a veth
    // pair (as a pod reaches the cluster DNS): answers arrive on a real interface and name
    // its connects there. The same container's connect from its real namespace: no name.
    const cg = sandbox!.container('containerd');
    const script = [
      'set -e',
      'ip link set lo up',
      'unshare --net sleep 60 & rns=$!',
      // Waits for the resolver namespace to exist (an event, polled).
      'while [ "$(readlink /proc/$rns/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done',
      'ip link add tlv0 type veth peer name tlv1 netns $rns',
      'ip addr add 10.200.0.2/24 dev tlv0 && ip link set tlv0 up',
      `nsenter --net=/proc/$rns/ns/net sh -c 'ip link set lo up && ip link set tlv1 up && ip addr add 10.200.0.1/24 dev tlv1 && ip addr add ${CLUSTER_DNS}/32 dev tlv1'`,
      `ip route add ${CLUSTER_DNS}/32 via 10.200.0.1`,
      `nsenter --net=/proc/$rns/ns/net ${clusterDnsmasq} & dns=$!`,
      `s=0; ${NODE} -e ${JSON.stringify(lookupWhenUp())} || s=$?`,
      'kill $dns $rns; wait $dns $rns 2>/dev/null || true',
      'exit $s',
    ].join('\n');
    const inside = await cg.run('unshare', ['--net', 'sh', '-c', script]);
    expect(inside.stderr).toBe('');
    expect(inside.code).toBe(0);
    const answered = await harness!.waitForEvent(cg.id, 'connect', (e) => e.ip === C2 && e.dnsName !== '');
    expect(answered.dnsName).toBe('api.example.test');

    const direct = `const c=require('net').connect(${c2Port},'${C2}');c.on('close',()=>{});c.on('error',()=>{});`;
    expect((await cg.run(NODE, ['-e', direct])).code).toBe(0);
    const outside = await harness!.waitForEvent(
      cg.id,
      'connect',
      (e) => e.ip === C2 && e.port === c2Port && e.dnsName === '',
    );
    expect(outside.process.pid).not.toBe(answered.process.pid);
  });

  it('refuses answers of a network resolver that arrive on loopback (sent from inside the namespace)', async () => {
    // The workload gives its own loopback the resolver's address and answers itself, as
    // IPV6_FREEBIND or NET_ADMIN in its namespace would let it: nothing may be named.
    const cg = sandbox!.container('containerd');
    const inside = await cg.run('unshare', [
      '--net',
      'sh',
      '-c',
      `ip link set lo up && ip addr add ${CLUSTER_DNS}/32 dev lo || exit 1; ${clusterDnsmasq} & dns=$!; ` +
        `${NODE} -e ${JSON.stringify(lookupWhenUp())}; s=$?; kill $dns; wait $dns; exit $s`,
    ]);
    expect(inside.stderr).toBe('');
    expect(inside.code).toBe(0);
    const e = await harness!.waitForEvent(cg.id, 'connect', (x) => x.ip === C2 && x.port === c2Port);
    expect(e.dnsName).toBe('');
  });

  it("copies only answers that can name something, at most at a container's rate", async () => {
    const count = async (result: string): Promise<number> => {
      const m = await harness!.registry.getSingleMetric('tripline_agent_dns_answers_total')!.get();
      return m.values.find((v) => v.labels.result === result)?.value ?? 0;
    };
    const cg = sandbox!.container('cgroupfs');
    // NXDOMAIN (the bulk of resolver traffic) stops in the kernel: the parser never sees one.
    const missing =
      `const {Resolver}=require('dns/promises');const r=new Resolver({timeout:2000,tries:1});` +
      `r.setServers(['${TRUSTED}']);r.resolve4('missing.example.test').then(()=>process.exit(1),()=>{});`;
    expect((await cg.run(NODE, ['-e', missing])).code).toBe(0);
    // 1,000 answers in a row from one container, faster than 100 a second: past the burst
    // of 200 the kernel drops answers and counts them.
    const named = await count('named');
    const flood =
      `const {Resolver}=require('dns/promises');const r=new Resolver({timeout:3000,tries:1});` +
      `r.setServers(['${TRUSTED}']);(async()=>{for(let i=0;i<1000;i++)await r.resolve4('api.example.test');})()` +
      `.catch(e=>{console.error(e);process.exit(1);});`;
    const r = await cg.run(NODE, ['-e', flood]);
    expect(r.stderr).toBe('');
    await waitFor(async () => (await count('lost')) > 0 || undefined, {
      what: 'answers over the rate counted as lost',
    });
    expect((await count('named')) - named).toBeLessThan(1000);
    expect(await count('rcode')).toBe(0);
    // Lost answers leave connects keyed by address: they must not mark the profile
    // partial (booked as connect drops of the container, that would keep it learning).
    const drops = harness!.sensor.takeDrops().byCgroup.get(cg.id) ?? [];
    expect(drops.filter((d) => d.kind === 'connect')).toEqual([]);
  });

  it('keeps names across an agent restart, for clients that reuse a resolved address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-dns-state-'));
    const dnsStateFile = join(dir, 'dns-names.json');
    let second: SensorHarness | undefined;
    try {
      const first = await startSensor({ dnsResolvers: [TRUSTED] }, { dnsStateFile, dnsNamespaceSource: source });
      const cg = sandbox!.container('containerd');
      try {
        expect((await cg.run(NODE, ['-e', lookupAndConnect(TRUSTED, 'api.example.test', apiPort)])).code).toBe(0);
        await first.waitForEvent(cg.id, 'connect', (e) => e.ip === API && e.dnsName === 'api.example.test');
      } finally {
        await first.stop();
      }
      second = await startSensor({ dnsResolvers: [TRUSTED] }, { dnsStateFile, dnsNamespaceSource: source });
      // A connect to the address with no lookup this time (a pooled connection reopening).
      const direct = `const c=require('net').connect(${apiPort},'${API}');c.on('close',()=>{});c.on('error',()=>{});`;
      expect((await cg.run(NODE, ['-e', direct])).code).toBe(0);
      const e = await second.waitForEvent(cg.id, 'connect', (x) => x.ip === API && x.port === apiPort);
      expect(e.dnsName).toBe('api.example.test');
    } finally {
      await second?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a connect from each network namespace of one process', async () => {
    // Else a connect from a namespace of its own (named after an answer forged there)
    // would hide, in the per-process peer cache, the real connect to the same peer.
    const dir = mkdtempSync(join(tmpdir(), 'tripline-two-ns-'));
    try {
      const bin = join(dir, 'connect-two-namespaces');
      execFileSync('clang', ['-O2', '-o', bin, join(import.meta.dirname, 'fixtures', 'connect-two-namespaces.c')]);
      const cg = sandbox!.container('containerd');
      const r = await cg.run(bin, [C2, String(c2Port)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      await waitFor(
        () => harness!.of(cg.id, 'connect').filter((e) => e.ip === C2 && e.port === c2Port).length === 2 || undefined,
        {
          what: 'a connect event from each namespace',
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ignores answers from a resolver the agent does not trust', async () => {
    const cg = sandbox!.container('docker');
    const r = await cg.run(NODE, ['-e', lookupAndConnect(UNTRUSTED, 'api.example.test', c2Port)]);
    expect(r.code).toBe(0);
    const e = await harness!.waitForEvent(cg.id, 'connect', (x) => x.ip === C2 && x.port === c2Port);
    expect(e.dnsName).toBe('');
  });
});

describe('DNS names from sockets recorded at creation (kernels without the namespace helper)', () => {
  it('keeps the namespace helper out of the packet program older kernels load', async () => {
    // This kernel accepts the helper in either program; a kernel before 6.15 would refuse
    // the whole object if it crept into tl_dns_by_sock.
    const harness = await startSensor({ dnsResolvers: [TRUSTED] }, { dnsNamespaceSource: 'socket' });
    try {
      const code = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'name', 'tl_dns_by_sock'], {
        encoding: 'utf8',
      });
      expect(code).toMatch(/call bpf_sk_storage_get#/);
      expect(code).not.toMatch(/get_netns_cookie/);
    } finally {
      await harness.stop();
    }
  });

  it('names nothing for a socket older than the agent, and counts its answers', async () => {
    // The socket exists before the sensor starts, so its namespace was never recorded:
    // the answer it receives cannot be bound to a namespace and must name nothing.
    const query = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...'api.example.test'.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]).toString('hex');
    const script =
      `const s=require('dgram').createSocket('udp4');s.bind(0,()=>console.log('ready'));` +
      `process.stdin.once('data',()=>s.send(Buffer.from('${query}','hex'),53,'${TRUSTED}'));` +
      // One A answer and no additional records: the address is the message's last 4 bytes.
      `s.on('message',(m)=>{const ip=[...m.subarray(m.length-4)].join('.');s.close();` +
      `const c=require('net').connect(${apiPort},ip);c.on('close',()=>process.exit(0));` +
      `c.on('error',(e)=>{console.error(e);process.exit(1);});});`;
    const cg = sandbox!.container('containerd');
    const child = cg.spawn(NODE, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let harness: SensorHarness | undefined;
    try {
      await new Promise<void>((ready, fail) => {
        child.stdout!.once('data', () => ready());
        child.once('exit', (code) => fail(new Error(`the client exited (${code}) before its socket was ready`)));
      });
      harness = await startSensor({ dnsResolvers: [TRUSTED] }, { dnsNamespaceSource: 'socket' });
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.stdin!.end('go\n');
      expect(await exited).toBe(0);
      const e = await harness.waitForEvent(cg.id, 'connect', (x) => x.ip === API && x.port === apiPort);
      expect(e.dnsName).toBe('');
      const m = await harness.registry.getSingleMetric('tripline_agent_dns_answers_total')!.get();
      expect(m.values.find((v) => v.labels.result === 'no_namespace')?.value).toBe(1);
      expect(harness.sensor.blindSpots.join('\n')).toMatch(/sockets created before the agent started name nothing/);
    } finally {
      child.kill('SIGKILL');
      await harness?.stop();
    }
  });
});
