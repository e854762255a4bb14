/**
 * A real rsyslogd for sink tests: its own config in a temp dir, imtcp on a loopback port
 * it picks itself (plain or TLS through the gtls driver with a throwaway self-signed
 * certificate), mmpstrucdata to parse RFC 5424 structured data, and omfile writing one
 * JSON line per message with the fields rsyslog parsed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { waitFor } from './wait.js';
import { selfSignedLocalhostCert } from './self-signed-cert.js';

/** One message as rsyslog parsed it. */
export interface RsyslogRecord {
  readonly hostname: string;
  readonly appname: string;
  readonly procid: string;
  readonly msgid: string;
  readonly severity: number;
  readonly facility: number;
  readonly timestamp: string;
  /** The STRUCTURED-DATA field as received. */
  readonly sd: string;
  readonly msg: string;
  /** Structured data parsed by mmpstrucdata: SD-ID → param → unescaped value. */
  readonly params: Record<string, Record<string, string>>;
}

export interface RsyslogServer {
  readonly port: number;
  /** The imudp port, when started with `udp`. */
  readonly udpPort: number | undefined;
  /** The self-signed certificate clients must trust (TLS servers only). */
  readonly caFile: string | undefined;
  /** Records written so far. */
  records(): RsyslogRecord[];
  /** Waits until at least `n` records were written. */
  waitForRecords(n: number, timeoutMs?: number): Promise<RsyslogRecord[]>;
  /** Stops rsyslogd and, unless `keepDir`, removes its directory. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export interface RsyslogOptions {
  readonly tls?: boolean;
  /** Listen on this port instead of a free one (e.g. to restart on the same port). */
  readonly port?: number;
  /** Reuse this directory (and its certificate) instead of a fresh one. */
  readonly dir?: string;
  /** Also listen for UDP datagrams (imudp) on a free loopback port. */
  readonly udp?: boolean;
}

export async function startRsyslog(opts: RsyslogOptions = {}): Promise<RsyslogServer & { readonly dir: string }> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tripline-rsyslog-'));
  const portFile = join(dir, 'port');
  const outFile = join(dir, 'out.jsonl');
  rmSync(portFile, { force: true });
  let caFile: string | undefined;
  let globalTls = '';
  let moduleTls = '';
  if (opts.tls) {
    const files = existsSync(join(dir, 'cert.pem'))
      ? { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') }
      : selfSignedLocalhostCert(dir);
    caFile = files.certFile;
    const keyFile = files.keyFile;
    globalTls = ` defaultNetstreamDriverCAFile="${caFile}" defaultNetstreamDriverCertFile="${caFile}" defaultNetstreamDriverKeyFile="${keyFile}"`;
    moduleTls = ' streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"';
  }
  // imudp cannot report a port it picked, so take one the kernel just handed out.
  const udpPort = opts.udp ? await freeUdpPort() : undefined;
  const udpInput = udpPort
    ? `module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="in")\n`
    : '';
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    `global(workDirectory="${dir}" maxMessageSize="64k"${globalTls})
module(load="imtcp"${moduleTls})
module(load="mmpstrucdata")
input(type="imtcp" address="127.0.0.1" port="${opts.port ?? 0}" listenPortFileName="${portFile}" ruleset="in")
${udpInput}template(name="fields" type="list" option.jsonf="on") {
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="appname" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="parsed" name="$!" format="jsonf")
}
ruleset(name="in") {
  action(type="mmpstrucdata" sd_name.lowercase="off")
  action(type="omfile" file="${outFile}" template="fields" flushOnTXEnd="on" asyncWriting="off")
}
`,
  );
  const child: ChildProcess = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`rsyslogd exited: ${stderr}`);
        // rsyslogd writes the port file only for a port it picked itself.
        if (opts.port !== undefined) return canConnect(opts.port).then((ok) => (ok ? opts.port : undefined));
        return existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) || undefined : undefined;
      },
      { timeoutMs: 10_000, what: 'rsyslogd to listen' },
    );
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const records = (): RsyslogRecord[] => {
    if (!existsSync(outFile)) return [];
    return readFileSync(outFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const r = JSON.parse(l) as Record<string, string>;
        const parsed = r.parsed
          ? (JSON.parse(r.parsed) as { 'rfc5424-sd'?: Record<string, Record<string, string>> })
          : {};
        return {
          hostname: r.hostname ?? '',
          appname: r.appname ?? '',
          procid: r.procid ?? '',
          msgid: r.msgid ?? '',
          severity: Number(r.severity),
          facility: Number(r.facility),
          timestamp: r.timestamp ?? '',
          sd: r.sd ?? '',
          msg: r.msg ?? '',
          params: parsed['rfc5424-sd'] ?? {},
        };
      });
  };

  return {
    dir,
    port,
    udpPort,
    caFile,
    records,
    waitForRecords: (n, timeoutMs = 10_000) =>
      waitFor(() => (records().length >= n ? records() : undefined), { timeoutMs, what: `${n} syslog records` }),
    async stop(stopOpts = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      if (!stopOpts.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
