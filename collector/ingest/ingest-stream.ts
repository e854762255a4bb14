/**
 * One agent's bidi stream: authenticate from metadata, then per batch decode → apply →
 * ack, strictly in order. Reading pauses while a batch is being applied, so a slow
 * intake pushes back through HTTP/2 flow control to the agent instead of piling up here.
 */
import { performance } from 'node:perf_hooks';
import { status, type Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../lib/logger.js';
import type { tripline } from '../../proto/codec.js';
import type { BatchSource, Intake } from '../enrich/intake.js';
import type { AgentAuthenticator, AgentAuthResult } from './agent-authenticator.js';
import { createBatchDecoder, type DecodedBatch } from './batch-decoder.js';
import type { ConnectedAgent } from './ingest-server.js';
import { countEnvelopes, type IngestMetrics, type IngestRejectReason } from './ingest-metrics.js';

export type IngestCall = ServerDuplexStream<Buffer, tripline.v1.IBatchAck>;

/** What every stream shares. */
export interface IngestStreamContext {
  readonly log: Logger;
  readonly metrics: IngestMetrics;
  readonly intake: Intake;
  readonly authenticator: AgentAuthenticator;
  readonly maxEnvelopesPerBatch: number;
}

/** The server's handle on an open stream. */
export interface IngestStream {
  /** Live view of the stream's agent. */
  readonly agent: ConnectedAgent;
  /** Resolves once the call is over (status sent or cancelled). */
  readonly closed: Promise<void>;
  /** Stop reading; end with UNAVAILABLE after acknowledging the batch being applied, if any. */
  drain(): void;
  /** End with UNAVAILABLE now, without acknowledging a batch still being applied (it is resent). */
  cancel(): void;
}

interface Status {
  readonly code: status;
  readonly details: string;
}

type Phase = 'authenticating' | 'idle' | 'applying' | 'ended';

export function openIngestStream(call: IngestCall, ctx: IngestStreamContext): IngestStream {
  const { metrics, intake } = ctx;
  const agent = {
    identity: '',
    node: '',
    agentRunId: '',
    peer: call.getPeer(),
    connectedAtMs: 0,
    batches: 0,
    envelopes: 0,
  };
  let log = ctx.log;
  let phase: Phase = 'authenticating';
  let draining = false;
  let lastBatchId = -1;
  let source: BatchSource = { identity: '', node: '', agentRunId: '' };
  let warnedInvalid = false;
  const decoder = createBatchDecoder(ctx.maxEnvelopesPerBatch);

  metrics.streams.inc();
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  call.once('close', () => {
    phase = 'ended';
    metrics.streams.dec();
    markClosed();
  });

  /** Ends the call once: pending acks are flushed first, then the status goes out. */
  function end(s: Status): void {
    if (phase === 'ended') return;
    phase = 'ended';
    call.pause();
    if (s.code === status.OK) call.end();
    // ServerDuplexStream turns an 'error' event into the call's final status.
    else call.emit('error', { code: s.code, details: s.details });
  }

  function reject(code: status, reason: IngestRejectReason, details: string): void {
    if (phase === 'ended') return;
    metrics.rejected.labels(reason).inc();
    log.warn({ reason, peer: agent.peer, node: agent.node || undefined }, `agent stream refused: ${details}`);
    end({ code, details });
  }

  const isGone = (): boolean => phase === 'ended' || call.cancelled || call.destroyed;

  async function authenticate(): Promise<void> {
    const { token, malformed } = bearerToken(call.metadata);
    let result: AgentAuthResult;
    try {
      result = malformed ? { ok: false, reason: 'missing' } : await ctx.authenticator.authenticate(token);
    } catch (err) {
      // The contract says it never throws; a bug there must still leave the agent retrying.
      log.error({ err }, 'agent authenticator threw');
      result = { ok: false, reason: 'unavailable' };
    }
    if (isGone()) return;
    if (!result.ok) {
      const r = AUTH_REJECTIONS[result.reason];
      reject(r.code, r.reason, malformed ? 'authorization metadata is not "Bearer <token>"' : r.details);
      return;
    }
    if (draining) return end(SHUTTING_DOWN);
    agent.identity = result.identity;
    agent.connectedAtMs = Date.now();
    source = { identity: agent.identity, node: '', agentRunId: '' };
    log = ctx.log.child({ agent: agent.identity, peer: agent.peer });
    log.debug('agent stream authenticated');
    phase = 'idle';
    call.on('data', onBatch);
    call.on('end', () => end({ code: status.OK, details: 'OK' }));
  }

  function onBatch(bytes: Buffer): void {
    if (phase !== 'idle') return;
    phase = 'applying';
    call.pause();
    void handleBatch(bytes).then(
      () => {
        if (phase !== 'applying') return;
        if (draining) return end(SHUTTING_DOWN);
        phase = 'idle';
        call.resume();
      },
      (err: unknown) => {
        // handleBatch catches what it expects; anything else is a bug, not the agent's fault.
        log.error({ err }, 'ingest stream failed');
        end({ code: status.INTERNAL, details: 'collector failed to process the batch' });
      },
    );
  }

  async function handleBatch(bytes: Buffer): Promise<void> {
    metrics.batchBytes.observe(bytes.length);
    const decoded = decoder.decode(bytes);
    if (!decoded.ok) return reject(status.INVALID_ARGUMENT, decoded.reason, decoded.error);
    const batch = decoded.batch;
    if (batch.batchId <= lastBatchId) {
      return reject(
        status.INVALID_ARGUMENT,
        'batch_order',
        `batch_id ${batch.batchId} is not greater than the previous batch_id ${lastBatchId} on this stream`,
      );
    }
    if (agent.agentRunId !== '' && batch.agentRunId !== '' && batch.agentRunId !== agent.agentRunId) {
      return reject(
        status.INVALID_ARGUMENT,
        'agent_run_changed',
        'agent_run_id changed within a stream; a restarted agent opens a new stream',
      );
    }
    lastBatchId = batch.batchId;
    noteSource(batch);
    if (batch.rejected > 0) noteInvalid(batch);
    if (batch.droppedNames > 0) metrics.droppedNames.inc(batch.droppedNames);
    if (batch.report) {
      try {
        intake.applyReport(batch.report, source);
      } catch (err) {
        log.error({ err }, 'intake failed to apply an agent report');
      }
    }
    if (batch.events.length > 0) {
      const started = performance.now();
      try {
        await intake.apply(batch.events, source);
      } catch (err) {
        log.error({ err }, 'intake failed to apply a batch; the agent will resend it');
        return reject(status.UNAVAILABLE, 'apply_failed', 'collector could not apply the batch; retry later');
      }
      metrics.applySeconds.observe((performance.now() - started) / 1000);
    }
    metrics.batches.inc();
    countEnvelopes(metrics, batch.perKind);
    agent.batches++;
    agent.envelopes += batch.events.length;
    if (isGone()) return;
    const flushed = call.write({ batchId: batch.batchId, accepted: batch.events.length, rejected: batch.rejected });
    if (!flushed) await drained(call);
  }

  function noteSource(batch: DecodedBatch): void {
    const node = agent.node || batch.node;
    const runId = agent.agentRunId || batch.agentRunId;
    if (node === agent.node && runId === agent.agentRunId) return;
    agent.node = node;
    agent.agentRunId = runId;
    source = { identity: agent.identity, node, agentRunId: runId };
    log = ctx.log.child({ agent: agent.identity, peer: agent.peer, node, agentRunId: runId });
  }

  function noteInvalid(batch: DecodedBatch): void {
    metrics.rejected.labels('invalid_envelope').inc(batch.rejected);
    // Once per stream above debug: a broken agent sends them in every batch.
    const level = warnedInvalid ? 'debug' : 'warn';
    warnedInvalid = true;
    log[level](
      { batchId: batch.batchId, rejected: batch.rejected },
      `agent sent invalid envelopes (${batch.firstRejection}); further ones are only counted`,
    );
  }

  void authenticate();

  return {
    agent,
    closed,
    drain(): void {
      draining = true;
      if (phase === 'idle') end(SHUTTING_DOWN);
    },
    cancel(): void {
      draining = true;
      end(SHUT_DOWN);
    },
  };
}

const SHUTTING_DOWN: Status = { code: status.UNAVAILABLE, details: 'collector is shutting down; reconnect' };
const SHUT_DOWN: Status = {
  code: status.UNAVAILABLE,
  details: 'collector shut down before the batch was applied; reconnect and resend it',
};

const AUTH_REJECTIONS: Record<
  Exclude<AgentAuthResult, { ok: true }>['reason'],
  { code: status; reason: IngestRejectReason; details: string }
> = {
  missing: {
    code: status.UNAUTHENTICATED,
    reason: 'auth_missing',
    details: 'no agent token: send "authorization: Bearer <token>" metadata',
  },
  invalid: {
    code: status.UNAUTHENTICATED,
    reason: 'auth_invalid',
    details: 'agent token is not recognised by this collector',
  },
  forbidden: {
    code: status.PERMISSION_DENIED,
    reason: 'auth_forbidden',
    details: 'agent credentials are valid but not allowed to send events',
  },
  unavailable: {
    code: status.UNAVAILABLE,
    reason: 'auth_unavailable',
    details: 'agent authentication is unavailable right now; retry',
  },
};

/** The bearer token in `authorization` metadata; `malformed` when the header is there but is not one. */
function bearerToken(md: Metadata): { token: string | undefined; malformed: boolean } {
  const value = md.get('authorization')[0];
  if (value === undefined) return { token: undefined, malformed: false };
  const m = typeof value === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value) : null;
  return m ? { token: m[1], malformed: false } : { token: undefined, malformed: true };
}

/** Resolves when the write buffer drained or the call is gone (then nothing more is written). */
function drained(call: IngestCall): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
  });
}
