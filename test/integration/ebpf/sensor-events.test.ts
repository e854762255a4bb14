/**
 * Each observation kind, from real processes in kubelet-named cgroups, arrives with the
 * right cgroup id and content.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupSandbox, type CgroupSandbox } from '../../helpers/cgroup.js';
import { waitFor } from '../../helpers/wait.js';
import { startSensor, type SensorHarness } from './sensor-harness.js';

const NODE = process.execPath;
let harness: SensorHarness;
let sandbox: CgroupSandbox;
let tmp: string;

beforeAll(async () => {
  harness = await startSensor();
  sandbox = createCgroupSandbox();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-ebpf-'));
});

afterAll(async () => {
  await harness?.stop();
  await sandbox?.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('exec', () => {
  it('reports pid, exe, argv and the container cgroup id of an exec', async () => {
    const cg = sandbox.container('containerd');
    const child = cg.spawn('/bin/sleep', ['30', '1s'], { cwd: tmp });
    try {
      const e = await harness.waitForEvent(cg.id, 'exec', (x) => x.process.pid === child.pid);
      expect(e.process.exe).toBe('/bin/sleep');
      expect(e.process.argv).toEqual(['/bin/sleep', '30', '1s']);
      expect(e.process.comm).toBe('sleep');
      expect(e.process.uid).toBe(0);
      expect(e.argvTruncated).toBe(false);
      expect(e.cwd).toBe(tmp);
      expect(e.container.cgroupId).toBe(cg.id);
      // ppid is the test process: the wrapper shell exec'd in place, keeping its parent.
      expect(e.process.ppid).toBe(process.pid);
      expect(Math.abs(e.timeNs / 1e6 - Date.now())).toBeLessThan(10_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('cuts argv at its bounds and says so', async () => {
    const cg = sandbox.container('crio');
    const args = Array.from({ length: 40 }, (_, i) => `a${i}`);
    await cg.run('/bin/echo', args);
    const e = await harness.waitForEvent(cg.id, 'exec', (x) => x.process.exe === '/bin/echo');
    expect(e.argvTruncated).toBe(true);
    expect(e.process.argv).toEqual(['/bin/echo', ...args.slice(0, 31)]);
  });
});

describe('syscalls', () => {
  it('reports each syscall a cgroup uses once, with names', async () => {
    const cg = sandbox.container('docker');
    for (let i = 0; i < 3; i++) await cg.run('/bin/true', []);
    await waitFor(() => harness.of(cg.id, 'syscalls').some((e) => e.names.includes('exit_group')), {
      what: 'exit_group in the syscall set',
    });
    const events = harness.of(cg.id, 'syscalls');
    const numbers = events.flatMap((e) => e.numbers);
    expect(new Set(numbers).size).toBe(numbers.length);
    const names = new Map(events.flatMap((e) => e.numbers.map((n, i) => [n, e.names[i]] as const)));
    expect(names.get(59)).toBe('execve');
    expect(names.get(231)).toBe('exit_group');
    for (const e of events) {
      expect(e.arch).toBe('x86_64');
      expect([...e.numbers]).toEqual([...e.numbers].sort((a, b) => a - b));
    }
  });
});

describe('file writes', () => {
  it('sees open-for-write, rename, unlink and chmod from the legacy and *at families', async () => {
    const cg = sandbox.container('cgroupfs');
    const a = path.join(tmp, 'node-a.txt');
    const b = path.join(tmp, 'node-b.txt');
    // Node's fs issues the legacy rename/unlink/chmod syscalls.
    const script = `const fs=require('fs');fs.writeFileSync(${JSON.stringify(a)},'x');fs.chmodSync(${JSON.stringify(a)},0o600);fs.renameSync(${JSON.stringify(a)},${JSON.stringify(b)});fs.unlinkSync(${JSON.stringify(b)});`;
    const r = await cg.run(NODE, ['-e', script]);
    expect(r.code).toBe(0);
    const open = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'open-write' && e.path === a);
    expect(open.flags & 0o1).toBe(0o1); // O_WRONLY
    expect(open.resolved).toBe(true);
    const chmod = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'chmod' && e.path === a);
    expect(chmod.flags).toBe(0o600);
    const rename = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'rename' && e.path === b);
    expect(rename.oldPath).toBe(a);
    await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'unlink' && e.path === b);

    // coreutils use the *at calls (renameat2, unlinkat, fchmodat).
    const c = path.join(tmp, 'sh-c.txt');
    const d = path.join(tmp, 'sh-d.txt');
    await cg.run('/bin/sh', ['-c', `: > ${c} && chmod 640 ${c} && mv ${c} ${d} && rm ${d}`]);
    await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'open-write' && e.path === c);
    const chmodAt = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'chmod' && e.path === c);
    expect(chmodAt.flags & 0o777).toBe(0o640);
    const renameAt = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'rename' && e.path === d);
    expect(renameAt.oldPath).toBe(c);
    await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'unlink' && e.path === d);
  });

  it('sees opens for writing, renames and unlinks made through io_uring, which make no such syscall', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'uring-'));
    const bin = path.join(dir, 'uring-file-ops');
    execFileSync('clang', ['-O2', '-o', bin, path.join(import.meta.dirname, 'fixtures', 'uring-file-ops.c')]);
    const cg = sandbox.container('containerd');
    // It waits for end of input: the relative path is resolved through its descriptor.
    const child = cg.spawn(bin, [dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      const a = path.join(dir, 'uring-a');
      const b = path.join(dir, 'uring-b');
      const open = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'open-write' && e.path === a);
      expect(open.flags & 0o1).toBe(0o1); // O_WRONLY
      expect(open.process.exe).toBe(bin);
      const rename = await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'rename' && e.path === b);
      expect(rename.oldPath).toBe(a);
      await harness.waitForEvent(cg.id, 'file', (e) => e.op === 'unlink' && e.path === b);
      const relative = await harness.waitForEvent(cg.id, 'file', (e) => e.path.endsWith('uring-rel'));
      expect(relative.path).toBe(path.join(dir, 'uring-rel'));
      expect(relative.resolved).toBe(true);
      // The read-only open between them is no write: records arrive in order, so by the
      // last one it would have come.
      expect(harness.of(cg.id, 'file').filter((e) => e.op === 'open-write')).toHaveLength(2);
    } finally {
      child.stdin!.end();
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('resolves a relative path against the writer’s working directory', async () => {
    const cg = sandbox.container('containerd');
    const child = cg.spawn('/bin/sh', ['-c', ': > relative.txt; exec sleep 30'], { cwd: tmp });
    try {
      const e = await harness.waitForEvent(cg.id, 'file', (x) => x.path.endsWith('relative.txt'));
      expect(e.resolved).toBe(true);
      expect(e.path).toBe(path.join(tmp, 'relative.txt'));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('ignores read-only opens', async () => {
    const cg = sandbox.container('docker');
    const target = path.join(tmp, 'read-only.txt');
    fs.writeFileSync(target, 'x');
    await cg.run('/bin/cat', [target]);
    await cg.run('/bin/sh', ['-c', `: > ${path.join(tmp, 'after-read.txt')}`]);
    // The later write proves the sensor had caught up past the read.
    await harness.waitForEvent(cg.id, 'file', (e) => e.path.endsWith('after-read.txt'));
    expect(harness.of(cg.id, 'file').filter((e) => e.path === target)).toEqual([]);
  });
});

describe('self exclusion', () => {
  it('leaves the agent’s own process out of its event stream', async () => {
    const own = path.join(tmp, 'written-by-the-agent.txt');
    fs.writeFileSync(own, 'x');
    fs.renameSync(own, `${own}.moved`);
    const cg = sandbox.container('containerd');
    const marker = path.join(tmp, 'written-by-a-child.txt');
    await cg.run('/bin/sh', ['-c', `: > ${marker}`]);
    // The child's later write proves the sensor had caught up past the agent's own.
    await harness.waitForEvent(cg.id, 'file', (e) => e.path === marker);
    expect(harness.all().filter((e) => e.process.pid === process.pid)).toEqual([]);
    expect(harness.all().filter((e) => e.kind === 'file' && e.path.startsWith(own))).toEqual([]);
  });
});

describe('listeners', () => {
  it('reports a TCP listen and a UDP bind with address and port', async () => {
    const cg = sandbox.container('containerd');
    const tcpPort = await freePort();
    const udpPort = await freePort();
    const script =
      `const net=require('net'),dgram=require('dgram');` +
      `net.createServer().listen(${tcpPort},'127.0.0.1',()=>{` +
      `const s=dgram.createSocket('udp4');s.bind(${udpPort},'127.0.0.1',()=>process.stdout.write('up'));});`;
    const child = cg.spawn(NODE, ['-e', script]);
    try {
      const tcp = await harness.waitForEvent(cg.id, 'listen', (e) => e.protocol === 'tcp' && e.port === tcpPort);
      expect(tcp.ip).toBe('127.0.0.1');
      expect(tcp.process.pid).toBe(child.pid);
      const udp = await harness.waitForEvent(cg.id, 'listen', (e) => e.protocol === 'udp' && e.port === udpPort);
      expect(udp.ip).toBe('127.0.0.1');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports the port of a listener that never called bind (the kernel picks it after the event)', async () => {
    const cg = sandbox.container('docker');
    // perl-base is in every Debian install; listen() on an unbound socket autobinds.
    const script =
      'use Socket; socket(my $s, PF_INET, SOCK_STREAM, 0) or die; listen($s, 5) or die;' +
      'my ($port) = sockaddr_in(getsockname($s)); $| = 1; print "$port\\n"; sleep 30;';
    const child = cg.spawn('/usr/bin/perl', ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      const port = Number(await waitFor(() => /^(\d+)\n/.exec(out)?.[1], { what: 'the port perl got' }));
      const e = await harness.waitForEvent(cg.id, 'listen', (x) => x.process.pid === child.pid);
      expect(e).toMatchObject({ protocol: 'tcp', ip: '0.0.0.0', port });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports an IPv6 wildcard listener', async () => {
    const cg = sandbox.container('crio');
    const port = await freePort();
    const child = cg.spawn(NODE, ['-e', `require('net').createServer().listen(${port},'::')`]);
    try {
      const e = await harness.waitForEvent(cg.id, 'listen', (x) => x.port === port);
      expect(e.ip).toBe('::');
      expect(e.protocol).toBe('tcp');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('egress', () => {
  it('reports one event per new peer per process for TCP connects and UDP sends', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const tcpPort = (server.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const udpPort = udp.address().port;
    try {
      const cg = sandbox.container('docker');
      const script =
        `const net=require('net'),dgram=require('dgram');let n=0;` +
        `const once=()=>new Promise(r=>{const c=net.connect(${tcpPort},'127.0.0.1');c.on('close',r);c.on('error',r);});` +
        `(async()=>{for(let i=0;i<3;i++)await once();` +
        `const u=dgram.createSocket('udp4');for(let i=0;i<3;i++)await new Promise(r=>u.send('x',${udpPort},'127.0.0.1',r));u.close();})();`;
      // Two processes, each making three connects and sending three datagrams.
      for (let i = 0; i < 2; i++) expect((await cg.run(NODE, ['-e', script])).code).toBe(0);
      const tcp = await harness.waitForEvent(cg.id, 'connect', (e) => e.protocol === 'tcp' && e.port === tcpPort);
      expect(tcp.ip).toBe('127.0.0.1');
      await waitFor(() => harness.of(cg.id, 'connect').filter((e) => e.protocol === 'udp').length >= 2, {
        what: 'a UDP peer event from each process',
      });
      // Deduplicated in the kernel per process: one event per peer for each of the two.
      const toTcp = harness.of(cg.id, 'connect').filter((e) => e.port === tcpPort);
      const toUdp = harness.of(cg.id, 'connect').filter((e) => e.port === udpPort);
      expect(toTcp).toHaveLength(2);
      expect(toUdp).toHaveLength(2);
      expect(toUdp.every((e) => e.protocol === 'udp' && e.ip === '127.0.0.1')).toBe(true);
      expect(new Set(toTcp.map((e) => e.process.pid)).size).toBe(2);
    } finally {
      server.close();
      udp.close();
    }
  });

  // linked: the ring makes the socket too, so its descriptor does not exist when the
  // connect is submitted; only the kernel's own move to SYN_SENT can report it.
  it.each([
    { how: 'on a socket from socket(2)', args: [] },
    { how: 'on a socket the ring made', args: ['linked'] },
  ])('reports a TCP connect made through io_uring, which makes no connect syscall ($how)', async ({ args }) => {
    const dir = fs.mkdtempSync(path.join(tmp, 'uring-connect-'));
    const bin = path.join(dir, 'uring-connect');
    execFileSync('clang', ['-O2', '-o', bin, path.join(import.meta.dirname, 'fixtures', 'uring-connect.c')]);
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.9', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const cg = sandbox.container('crio');
      const r = await cg.run(bin, ['127.0.0.9', String(port), ...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const e = await harness.waitForEvent(cg.id, 'connect', (x) => x.port === port);
      expect(e.ip).toBe('127.0.0.9');
      expect(e.protocol).toBe('tcp');
      expect(e.process.exe).toBe(bin);
    } finally {
      server.close();
    }
  });

  it('reports a connect(2) the kernel rewrites once, by the address the process asked for', async () => {
    // The kernel connects 0.0.0.0 to loopback, as a connect-time load balancer rewrites
    // a service address to a backend's: the move to SYN_SENT must not add the rewritten
    // peer to the one connect(2) named.
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const probe = await freePort();
    try {
      const cg = sandbox.container('containerd');
      const script =
        `const net=require('net');const c=net.connect(${port},'0.0.0.0');` +
        `c.on('close',()=>{const t=net.connect(${probe},'127.0.0.1');t.on('error',()=>{});});c.on('error',()=>{});`;
      expect((await cg.run(NODE, ['-e', script])).code).toBe(0);
      // The refused connect after it proves the sensor had caught up.
      await harness.waitForEvent(cg.id, 'connect', (e) => e.port === probe);
      const toServer = harness.of(cg.id, 'connect').filter((e) => e.port === port);
      expect(toServer.map((e) => e.ip)).toEqual(['0.0.0.0']);
    } finally {
      server.close();
    }
  });

  it('ignores unix-domain connects', async () => {
    const sock = path.join(tmp, 'unix.sock');
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const cg = sandbox.container('containerd');
      const port = await freePort();
      const script =
        `const net=require('net');const c=net.connect(${JSON.stringify(sock)});` +
        `c.on('close',()=>{const t=net.connect(${port},'127.0.0.1');t.on('error',()=>{});});`;
      await cg.run(NODE, ['-e', script]);
      // The refused TCP connect after the unix one proves the sensor had caught up.
      await harness.waitForEvent(cg.id, 'connect', (e) => e.port === port);
      expect(harness.of(cg.id, 'connect')).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});
