/**
 * A real DNS resolver for tests: dnsmasq in the foreground on one loopback address,
 * port 53, answering only the names it is given (no upstream, no /etc/hosts), so a test
 * controls every answer and no query leaves the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { waitFor } from './wait.js';

export interface Dnsmasq {
  readonly address: string;
  stop(): Promise<void>;
}

/** `records`: name → the address it resolves to (an A record for IPv4, AAAA for IPv6). */
export async function startDnsmasq(address: string, records: Readonly<Record<string, string>>): Promise<Dnsmasq> {
  const args = [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    `--listen-address=${address}`,
    '--port=53',
    '--user=root',
    '--pid-file',
    '--log-facility=-',
    ...Object.entries(records).map(([name, ip]) => `--host-record=${name},${ip}`),
  ];
  const child: ChildProcess = spawn('/usr/sbin/dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const probe = new Resolver({ timeout: 200, tries: 1 });
  probe.setServers([address]);
  const [[name, first]] = Object.entries(records) as [[string, string]];
  const lookup = (n: string) => (isIPv6(first) ? probe.resolve6(n) : probe.resolve4(n));
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
        return (await lookup(name).catch(() => [])).length > 0 || undefined;
      },
      { timeoutMs: 5000, what: `dnsmasq answering on ${address}` },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
