/**
 * Real ingest servers on loopback and real grpc-js agent clients for the ingest tests.
 * The intake is the boundary under test, so an in-memory one records what was applied.
 */
import {
  ChannelCredentials,
  Metadata,
  makeGenericClientConstructor,
  type Client,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { eventToWire, type tripline } from '../../../proto/codec.js';
import { unresolvedContainer, type TriplineEvent } from '../../../proto/events.js';
import { encodeBatch, ingestServiceDefinition } from '../../../proto/ingest-service.js';
import type { AgentReport } from '../../../proto/report.js';
import type { BatchSource, Intake } from '../../../collector/enrich/intake.js';
import type { AgentAuthenticator } from '../../../collector/ingest/agent-authenticator.js';
import { createIngestServer } from '../../../collector/ingest/grpc-ingest-server.js';
import { parseIngestConfig } from '../../../collector/ingest/ingest-config.js';
import type { IngestServer } from '../../../collector/ingest/ingest-server.js';
import { createStaticTokenAuthenticator } from '../../../collector/ingest/static-token-authenticator.js';

export const AGENT_TOKEN = 'agent-token-0123456789abcdef';

/** An intake that records every apply; `hold(node)` makes that node's applies wait for `release()`. */
export interface RecordingIntake extends Intake {
  readonly applied: { events: readonly TriplineEvent[]; source: BatchSource }[];
  readonly reports: { report: AgentReport; source: BatchSource }[];
  /** apply() calls entered (including ones still held). */
  readonly started: number;
  hold(node: string): void;
  release(): void;
}

export function recordingIntake(): RecordingIntake {
  let held: { node: string; gate: Promise<void>; open: () => void } | undefined;
  const intake = {
    applied: [] as RecordingIntake['applied'],
    reports: [] as RecordingIntake['reports'],
    started: 0,
    async apply(events: readonly TriplineEvent[], source: BatchSource): Promise<void> {
      intake.started++;
      if (held && held.node === source.node) await held.gate;
      intake.applied.push({ events, source });
    },
    applyReport(report: AgentReport, source: BatchSource): void {
      intake.reports.push({ report, source });
    },
    hold(node: string): void {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      held = { node, gate, open };
    },
    release(): void {
      held?.open();
      held = undefined;
    },
  };
  return intake;
}

export interface RunningIngest {
  readonly server: IngestServer;
  readonly port: number;
  readonly registry: Registry;
  readonly intake: RecordingIntake;
  /** Current value of a counter or gauge, optionally for one label value. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export async function startIngest(
  rawConfig: Record<string, unknown> = {},
  opts: { authenticator?: AgentAuthenticator; intake?: RecordingIntake } = {},
): Promise<RunningIngest> {
  const problems = new Problems();
  const config = parseIngestConfig({ listen: '127.0.0.1:0', ...rawConfig }, problems);
  problems.throwIfAny();
  const registry = new Registry();
  const intake = opts.intake ?? recordingIntake();
  const server = createIngestServer({
    log: silentLogger(),
    registry,
    intake,
    authenticator: opts.authenticator ?? createStaticTokenAuthenticator([AGENT_TOKEN]),
    config,
  });
  const { port } = await server.start();
  return {
    server,
    port,
    registry,
    intake,
    async metric(name, labels = {}) {
      // Histogram series ("x_count", "x_sum") live on their base metric.
      const base = name.replace(/_(count|sum)$/, '');
      const m = registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
      if (!m) throw new Error(`no metric ${name}`);
      const values = ((await m.get()).values as { value: number; labels: object; metricName?: string }[]).filter(
        (v) =>
          (v.metricName === undefined || v.metricName === name) &&
          Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
      );
      return values.reduce((sum, v) => sum + v.value, 0);
    },
  };
}

const IngestClient = makeGenericClientConstructor(ingestServiceDefinition, 'Ingest');

/** A BatchAck with plain numbers (the generated decoder yields Long for uint64). */
export interface Ack {
  readonly batchId: number;
  readonly accepted: number;
  readonly rejected: number;
}

/** One agent's stream as a test sees it: what it sent, the acks, and the final status. */
export interface AgentStream {
  readonly client: Client;
  readonly call: ClientDuplexStream<Buffer | tripline.v1.IEventBatch, tripline.v1.BatchAck>;
  readonly acks: Ack[];
  readonly status: Promise<StatusObject>;
  send(batch: Buffer | tripline.v1.IEventBatch): void;
  /** Resolves when `n` acks have arrived in total (rejects if the stream ends first). */
  acked(n: number): Promise<Ack[]>;
  close(): void;
}

export function connectAgent(
  port: number,
  opts: {
    token?: string | null;
    credentials?: ChannelCredentials;
    host?: string;
    options?: Record<string, unknown>;
  } = {},
): AgentStream {
  const target = `${opts.host ?? '127.0.0.1'}:${port}`;
  const client = new IngestClient(target, opts.credentials ?? ChannelCredentials.createInsecure(), opts.options ?? {});
  const md = new Metadata();
  const token = opts.token === undefined ? AGENT_TOKEN : opts.token;
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  const call = (client as unknown as Record<string, (md: Metadata) => AgentStream['call']>).stream!(md);
  const acks: Ack[] = [];
  const waiters: { n: number; resolve: (a: Ack[]) => void; reject: (e: Error) => void }[] = [];
  let ended: StatusObject | undefined;
  const settle = (): void => {
    for (const w of [...waiters]) {
      if (acks.length >= w.n) w.resolve(acks);
      else if (ended) w.reject(new Error(`stream ended (${ended.code}: ${ended.details}) after ${acks.length} acks`));
      else continue;
      waiters.splice(waiters.indexOf(w), 1);
    }
  };
  call.on('data', (ack: tripline.v1.BatchAck) => {
    acks.push({ batchId: Number(ack.batchId), accepted: ack.accepted, rejected: ack.rejected });
    settle();
  });
  // Non-OK statuses also arrive as 'error'; 'status' carries them all.
  call.on('error', () => undefined);
  const status = new Promise<StatusObject>((resolve) =>
    call.on('status', (s: StatusObject) => {
      ended = s;
      settle();
      resolve(s);
    }),
  );
  return {
    client,
    call,
    acks,
    status,
    send: (batch) => void call.write(batch),
    acked: (n) => new Promise((resolve, reject) => (waiters.push({ n, resolve, reject }), settle())),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

const WORKLOAD = { cluster: 'test', namespace: 'shop', kind: 'Deployment', name: 'cart', container: 'app' };

/** A valid event of each kind, cycling through kinds with `i`. */
export function sampleEvent(i: number, node = 'node-a'): TriplineEvent {
  const container = { ...unresolvedContainer(4242), containerId: 'c'.repeat(64), workload: WORKLOAD };
  const header = {
    timeNs: 1_700_000_000_000_000_000 + i,
    node,
    seq: i,
    container,
    process: { pid: 100 + i, ppid: 1, uid: 0, exe: '/usr/bin/curl', comm: 'curl', argv: [] },
  };
  switch (i % 5) {
    case 0:
      return { ...header, kind: 'exec', argvTruncated: false, cwd: '/', writtenByContainer: false };
    case 1:
      return { ...header, kind: 'syscalls', numbers: [0, 1], names: ['read', 'write'], arch: 'x86_64' };
    case 2:
      return {
        ...header,
        kind: 'file',
        op: 'open-write',
        path: `/tmp/f${i}`,
        oldPath: '',
        flags: 0o1101,
        resolved: true,
      };
    case 3:
      return { ...header, kind: 'listen', protocol: 'tcp', ip: '0.0.0.0', port: 8080 };
    default:
      return { ...header, kind: 'connect', protocol: 'tcp', ip: '10.0.0.7', port: 443, dnsName: '' };
  }
}

/** A wire batch of `count` valid envelopes starting at sequence `from`. */
export function batchOf(
  batchId: number,
  count: number,
  opts: { from?: number; node?: string; runId?: string } = {},
): tripline.v1.IEventBatch {
  const from = opts.from ?? 0;
  return {
    batchId,
    agentRunId: opts.runId ?? 'run-1',
    envelopes: Array.from({ length: count }, (_, k) => eventToWire(sampleEvent(from + k, opts.node))),
  };
}

export { encodeBatch };
