/**
 * A real Alertmanager (Debian's prometheus-alertmanager) for sink tests: its own config
 * and storage in a temp dir, clustering off, the API on a free loopback port, one route
 * with short group timings to a webhook receiver the test provides.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export interface AlertmanagerServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** The alerts Alertmanager currently holds (GET /api/v2/alerts). */
  alerts(): Promise<
    {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
      status: { state: string };
    }[]
  >;
  stop(): Promise<void>;
}

export const ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';

export async function startAlertmanager(opts: { webhookUrl: string }): Promise<AlertmanagerServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    `route:
  receiver: test
  group_by: ['alertname', 'incident_id']
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: '${opts.webhookUrl}'
        send_resolved: true
`,
  );
  // Alertmanager has no "port 0 and tell me" option; a port just released by the kernel is
  // free unless another process grabs it in between, which a retry covers.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      ALERTMANAGER_BINARY,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
    };
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`alertmanager exited: ${stderr}`);
          const res = await fetch(`${url}/-/ready`).catch(() => undefined);
          return res?.ok;
        },
        { timeoutMs: 15_000, intervalMs: 50, what: 'alertmanager to be ready' },
      );
    } catch (err) {
      await stop();
      if (attempt < 2 && /address already in use/.test(stderr)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      url,
      async alerts() {
        const res = await fetch(`${url}/api/v2/alerts`);
        return (await res.json()) as Awaited<ReturnType<AlertmanagerServer['alerts']>>;
      },
      async stop() {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
