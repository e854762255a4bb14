/**
 * DNS names on connects, on the real kernel with a real resolver (dnsmasq): a container
 * that looked a name up at a trusted resolver and then connects to the answer has the
 * connect named; answers from a resolver the agent does not trust, and lookups made by
 * another container, name nothing.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupSandbox, type CgroupSandbox } from '../../helpers/cgroup.js';
import { startDnsmasq, type Dnsmasq } from '../../helpers/dnsmasq.js';
import { startSensor, type SensorHarness } from './sensor-harness.js';

const NODE = process.execPath;
const TRUSTED = '127.0.0.153';
const UNTRUSTED = '127.0.0.154';
const API = '127.0.0.77';
const C2 = '127.0.0.78';

let harness: SensorHarness | undefined;
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
  harness = await startSensor({ dnsResolvers: [TRUSTED, '::1'] });
  sandbox = createCgroupSandbox();
});

afterAll(async () => {
  await harness?.stop();
  await sandbox?.cleanup();
  for (const s of servers) s.close();
  await Promise.all(resolvers.map((r) => r.stop()));
});

describe('DNS names', () => {
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

  it('ignores answers from a resolver the agent does not trust', async () => {
    const cg = sandbox!.container('docker');
    const r = await cg.run(NODE, ['-e', lookupAndConnect(UNTRUSTED, 'api.example.test', c2Port)]);
    expect(r.code).toBe(0);
    const e = await harness!.waitForEvent(cg.id, 'connect', (x) => x.ip === C2 && x.port === c2Port);
    expect(e.dnsName).toBe('');
  });
});
