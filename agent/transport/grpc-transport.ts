/**
 * Streams batches to the collector's Ingest.Stream (bidi gRPC) and keeps every batch until
 * the collector acknowledges it.
 *
 * In memory: a window of at most `maxInflightBatches` batches, written or waiting to be.
 * Beyond the window (the collector is down or slower than the node) batches go to the
 * spool on disk, and come back into the window, oldest first, as acks free room — so
 * order is kept and an outage costs disk, not events, until the spool's bound. When a
 * stream ends, every unacknowledged batch is written again on the next stream under a
 * new batch id (ids are per stream); the collector de-duplicates by run id and seq.
 * A stream carries one agent run: batches recovered from an earlier run's spool go on
 * their own stream, which is closed once they are acknowledged.
 *
 * Failures are classified by status: a rejected batch (INVALID_ARGUMENT) is dropped and
 * counted, credentials refused (UNAUTHENTICATED, PERMISSION_DENIED) back off at the
 * maximum with the token re-read each attempt, everything else reconnects with
 * exponential backoff and full jitter.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../lib/logger.js';
import { INGEST_STREAM_PATH, ingestServiceDefinition, type BatchAck } from '../../proto/ingest-service.js';
import type { CollectorConnectionConfig, SpoolConfig } from '../config.js';
import type { AgentMetrics } from '../metrics.js';
import { encodeBatchBody, runIdOf, withBatchId } from './batch-encoding.js';
import { openSpool, type Spool } from './spool.js';
import type { SendResult, Transport } from './transport.js';

export interface GrpcTransportOptions {
  readonly collector: CollectorConnectionConfig;
  readonly spool: SpoolConfig;
  /** Random id of this agent run, carried in every batch. */
  readonly agentRunId: string;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
  /** Uniform [0, 1), for backoff jitter (tests pass a fixed one). */
  readonly random?: () => number;
}

interface InFlight {
  readonly body: Buffer;
  /** agent_run_id inside the body (an earlier run's for batches recovered from the spool). */
  readonly runId: string;
  /** Also held in the spool, which must be told when it is acknowledged. */
  readonly fromSpool: boolean;
  /** Id on the current stream; 0 while not written on it. */
  batchId: number;
  writtenAt: number;
}

const NON_RETRYABLE_AUTH = new Set([
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNIMPLEMENTED,
]);

/** Bounded metric label for a gRPC status code. */
function statusReason(code: grpc.status): string {
  return (grpc.status[code] ?? 'unknown').toLowerCase();
}

function readTlsCredentials(tls: NonNullable<CollectorConnectionConfig['tls']>): grpc.ChannelCredentials {
  const problems: string[] = [];
  const read = (what: string, path: string | undefined): Buffer | null => {
    if (path === undefined) return null;
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`${what} ${path}: ${(err as Error).message}`);
      return null;
    }
  };
  const ca = read('collector.tls.caFile', tls.caFile);
  const cert = read('collector.tls.certFile', tls.certFile);
  const key = read('collector.tls.keyFile', tls.keyFile);
  if (problems.length) throw new Error(`cannot read TLS files:\n  - ${problems.join('\n  - ')}`);
  return grpc.credentials.createSsl(ca, key, cert);
}

export function createGrpcTransport(opts: GrpcTransportOptions): Transport {
  const cfg = opts.collector;
  const { metrics } = opts;
  const log = opts.log.child({ component: 'grpc-transport', collector: cfg.address });
  const random = opts.random ?? Math.random;

  let client: grpc.Client | undefined;
  let spool: Spool | undefined;
  let call: grpc.ClientDuplexStream<Buffer, BatchAck> | undefined;
  /** The run whose batches the current stream carries; set by its first batch. */
  let streamRunId: string | undefined;
  const window: InFlight[] = [];
  /** window[0..written) are written on the current stream. */
  let written = 0;
  let writable = true;
  let nextBatchId = 0;
  let attempt = 0;
  let streams = 0;
  let failing = false;
  let cancelledForAckTimeout = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let ackTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const drainedWaiters: Array<() => void> = [];

  function updateSpoolGauge(): void {
    metrics.spoolBytes.set(spool?.bytes ?? 0);
  }

  function readToken(): string | undefined {
    if (cfg.token !== undefined) return cfg.token;
    if (cfg.tokenFile === undefined) return undefined;
    return readFileSync(cfg.tokenFile, 'utf8').trim();
  }

  function pump(): void {
    while (spool && spool.unread > 0 && window.length < cfg.maxInflightBatches) {
      const body = spool.read();
      if (body) window.push({ body, runId: runIdOf(body), fromSpool: true, batchId: 0, writtenAt: 0 });
    }
    updateSpoolGauge();
    if (!call) return;
    while (written < window.length && writable) {
      const b = window[written]!;
      if (streamRunId !== undefined && b.runId !== streamRunId) {
        // The collector binds a stream to one agent run: once the other run's batches
        // are all acknowledged, close this stream and carry on on a fresh one.
        if (written === 0) switchStream();
        return;
      }
      streamRunId = b.runId;
      written++;
      b.batchId = ++nextBatchId;
      b.writtenAt = Date.now();
      metrics.batchesSent.inc();
      writable = call.write(withBatchId(b.batchId, b.body));
    }
  }

  function release(b: InFlight): void {
    if (b.fromSpool) spool?.release();
  }

  function onAck(thisCall: typeof call, ack: BatchAck): void {
    if (thisCall !== call) return;
    const id = Number(ack.batchId);
    let acked = 0;
    while (written > 0 && window[0]!.batchId <= id) {
      const b = window.shift()!;
      written--;
      acked++;
      release(b);
      metrics.ackLatency.observe((Date.now() - b.writtenAt) / 1000);
    }
    if (acked === 0) {
      log.debug({ batchId: id }, 'acknowledgement for no batch in flight');
      return;
    }
    metrics.batchesAcked.inc(acked);
    if (ack.rejected) metrics.envelopesRejected.inc(ack.rejected);
    if (failing) log.info({ attempts: attempt }, 'collector stream healthy again');
    failing = false;
    attempt = 0;
    pump();
    if (window.length === 0) for (const w of drainedWaiters.splice(0)) w();
  }

  function onStreamEnd(thisCall: typeof call, code: grpc.status, details: string): void {
    if (thisCall !== call) return;
    call = undefined;
    const first = written > 0 ? window[0] : undefined;
    written = 0;
    for (const b of window) b.batchId = 0;
    if (closed) return;
    if (code === grpc.status.INVALID_ARGUMENT && first) {
      // The collector acks in order and failed the stream on the oldest unacked batch:
      // that one is malformed, and sending it again would fail the same way forever.
      window.shift();
      release(first);
      metrics.batchesDropped.inc({ reason: 'rejected' });
      metrics.transportErrors.inc({ reason: 'invalid_argument' });
      log.error({ details }, 'collector rejected a batch as invalid; dropped it');
      attempt = 0;
    } else if (NON_RETRYABLE_AUTH.has(code)) {
      metrics.transportErrors.inc({ reason: statusReason(code) });
      log.error(
        { code: grpc.status[code], details },
        'collector refused this agent: check the token (collector.token or tokenFile) and its permissions; retrying at the maximum backoff',
      );
      attempt = Math.max(attempt, 30);
    } else if (code === grpc.status.CANCELLED && cancelledForAckTimeout) {
      cancelledForAckTimeout = false;
    } else {
      metrics.transportErrors.inc({ reason: code === grpc.status.OK ? 'closed' : statusReason(code) });
      if (!failing) log.warn({ code: grpc.status[code], details }, 'collector stream ended; reconnecting with backoff');
      else log.debug({ code: grpc.status[code], details, attempt }, 'collector still unreachable');
    }
    failing = true;
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    const cap = Math.min(cfg.maxBackoffMs, cfg.initialBackoffMs * 2 ** Math.min(attempt, 30));
    attempt++;
    reconnectTimer = setTimeout(
      () => {
        reconnectTimer = undefined;
        openStream();
      },
      Math.floor(random() * cap),
    );
  }

  function openStream(isRunSwitch = false): void {
    if (closed || call || !client) return;
    const metadata = new grpc.Metadata();
    try {
      const token = readToken();
      if (token) metadata.set('authorization', `Bearer ${token}`);
    } catch (err) {
      metrics.transportErrors.inc({ reason: 'token_file' });
      log.error({ err, tokenFile: cfg.tokenFile }, 'cannot read the token file');
      failing = true;
      scheduleReconnect();
      return;
    }
    if (streams++ > 0 && !isRunSwitch) metrics.reconnects.inc();
    const c = client.makeBidiStreamRequest<Buffer, BatchAck>(
      INGEST_STREAM_PATH,
      (b) => b,
      ingestServiceDefinition.stream.responseDeserialize,
      metadata,
      {},
    );
    call = c;
    streamRunId = undefined;
    writable = true;
    c.on('data', (ack: BatchAck) => onAck(c, ack));
    c.on('drain', () => {
      if (c !== call) return;
      writable = true;
      pump();
    });
    // 'error' carries the same status as 'status'; it must be listened to or it throws.
    c.on('error', () => {});
    c.on('status', (s: grpc.StatusObject) => onStreamEnd(c, s.code, s.details));
    pump();
  }

  function switchStream(): void {
    const old = call;
    call = undefined;
    old?.end();
    openStream(true);
  }

  function checkAckTimeout(): void {
    if (!call || written === 0) return;
    if (Date.now() - window[0]!.writtenAt <= cfg.ackTimeoutMs) return;
    metrics.transportErrors.inc({ reason: 'ack_timeout' });
    log.warn({ ackTimeoutMs: cfg.ackTimeoutMs }, 'no acknowledgement in time; restarting the stream');
    cancelledForAckTimeout = true;
    call.cancel();
  }

  return {
    name: 'grpc',
    async start() {
      if (cfg.address === undefined) throw new Error('collector.address is required for the gRPC transport');
      const credentials = cfg.tls ? readTlsCredentials(cfg.tls) : grpc.credentials.createInsecure();
      if (opts.spool.dir && opts.spool.maxBytes > 0) {
        spool = openSpool({
          ...opts.spool,
          log,
          onError: (reason) => metrics.transportErrors.inc({ reason }),
        });
      }
      const options: grpc.ChannelOptions = {
        // The channel's own reconnect backoff (default up to 120 s) would otherwise
        // outlast ours: calls fail fast while it waits, delaying recovery.
        'grpc.initial_reconnect_backoff_ms': cfg.initialBackoffMs,
        'grpc.max_reconnect_backoff_ms': cfg.maxBackoffMs,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.keepalive_permit_without_calls': 1,
      };
      if (cfg.tls?.serverName) options['grpc.ssl_target_name_override'] = cfg.tls.serverName;
      client = new grpc.Client(cfg.address, credentials, options);
      ackTimer = setInterval(checkAckTimeout, Math.max(100, Math.floor(cfg.ackTimeoutMs / 4)));
      ackTimer.unref();
      if (cfg.token === undefined && cfg.tokenFile === undefined)
        log.warn('no token configured; the collector may refuse this agent');
      openStream();
    },

    send(batch): SendResult {
      if (closed) return { status: 'failure', error: 'transport stopped', reason: 'queue_full' };
      const body = encodeBatchBody(opts.agentRunId, batch.envelopes, { node: batch.node, report: batch.report });
      if (window.length < cfg.maxInflightBatches && !(spool && spool.unread > 0)) {
        window.push({ body, runId: opts.agentRunId, fromSpool: false, batchId: 0, writtenAt: 0 });
        pump();
        return { status: 'success' };
      }
      if (!spool) return { status: 'retryable', error: 'collector window full and no spool', retryInMillis: 100 };
      const r = spool.append(body);
      updateSpoolGauge();
      if (r === 'ok') {
        pump();
        return { status: 'success' };
      }
      metrics.batchesDropped.inc({ reason: r === 'full' ? 'spool_full' : 'spool_write' });
      return { status: 'failure', error: r === 'full' ? 'spool full' : 'spool write failed', reason: 'spool_full' };
    },

    async stop(timeoutMs = 5_000) {
      if (closed) return;
      // Waiting only helps while the collector answers; otherwise the spool keeps the window.
      if (window.length > 0 && call && !failing) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, timeoutMs);
          drainedWaiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (ackTimer) clearInterval(ackTimer);
      // Unacknowledged batches that exist only in memory go to disk for the next run.
      let kept = 0;
      for (const b of window) {
        if (!b.fromSpool && spool?.append(b.body) === 'ok') kept++;
      }
      if (window.length)
        log.info({ unacknowledged: window.length, spooled: kept }, 'stopping with batches not acknowledged');
      window.length = 0;
      call?.end();
      call = undefined;
      client?.close();
      spool?.close();
      updateSpoolGauge();
    },
  };
}
