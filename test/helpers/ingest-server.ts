/**
 * A minimal real gRPC ingest server on loopback (grpc-js, the shared service definition)
 * for agent transport tests: it records every batch it receives, acknowledges it (or
 * answers as the test says), and can be stopped and started again on the same port to
 * play a collector outage. Like the collector, it fails a stream with INVALID_ARGUMENT
 * when batch ids do not increase or the agent run id changes within it.
 */
import * as grpc from '@grpc/grpc-js';
import { eventsFromBatch, reportFromWire, tripline } from '../../proto/codec.js';
import type { TriplineEvent } from '../../proto/events.js';
import { ingestServiceDefinition } from '../../proto/ingest-service.js';
import type { AgentReport } from '../../proto/report.js';

export interface ReceivedBatch {
  readonly batchId: number;
  readonly agentRunId: string;
  readonly events: readonly TriplineEvent[];
  readonly report: AgentReport | undefined;
  /** The authorization metadata of the stream it came on. */
  readonly authorization: string | undefined;
  /** 1-based number of the stream it came on (counted across restarts). */
  readonly stream: number;
}

/** How to answer one batch: acknowledge it, fail the stream with a status, or stay silent. */
export type BatchAnswer = 'ack' | 'ignore' | { readonly code: grpc.status; readonly details: string };

export interface IngestServerOptions {
  /** When set, streams without "authorization: Bearer <token>" fail with UNAUTHENTICATED. */
  readonly token?: string;
  /** Decides the answer to each batch (default: ack). */
  readonly answer?: (batch: ReceivedBatch) => BatchAnswer;
  /** Server credentials (default insecure). */
  readonly credentials?: grpc.ServerCredentials;
}

export interface TestIngestServer {
  readonly port: number;
  /** "127.0.0.1:<port>". */
  readonly address: string;
  /** Every batch received, in arrival order, across restarts. */
  readonly batches: ReceivedBatch[];
  /** Streams opened (accepted or refused), across restarts. */
  readonly streams: number;
  /** Every event received, in arrival order. */
  events(): TriplineEvent[];
  /** Kills the server and its open streams at once (a crash, not a drain). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function startIngestServer(opts: IngestServerOptions = {}, port = 0): Promise<TestIngestServer> {
  const batches: ReceivedBatch[] = [];
  let streams = 0;
  let server: grpc.Server | undefined;
  let boundPort = port;

  function handle(call: grpc.ServerDuplexStream<Buffer, tripline.v1.IBatchAck>): void {
    const stream = ++streams;
    const authorization = call.metadata.get('authorization')[0]?.toString();
    if (opts.token !== undefined && authorization !== `Bearer ${opts.token}`) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'bad token' });
      return;
    }
    let lastBatchId = 0;
    let runId: string | undefined;
    call.on('data', (bytes: Buffer) => {
      let batch: ReceivedBatch;
      try {
        const m = tripline.v1.EventBatch.decode(bytes);
        batch = {
          batchId: Number(m.batchId),
          agentRunId: m.agentRunId,
          events: eventsFromBatch(m).map((d) => {
            if (!d.ok) throw new Error(d.error);
            return d.value;
          }),
          report: m.report ? reportFromWire(m.report) : undefined,
          authorization,
          stream,
        };
      } catch (err) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: String(err) });
        return;
      }
      // The collector's stream contract: increasing batch ids, one agent run per stream.
      if (batch.batchId <= lastBatchId || (runId !== undefined && batch.agentRunId !== runId)) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'batch out of order or from another run' });
        return;
      }
      lastBatchId = batch.batchId;
      runId = batch.agentRunId;
      batches.push(batch);
      const answer = opts.answer?.(batch) ?? 'ack';
      if (answer === 'ack') call.write({ batchId: batch.batchId, accepted: batch.events.length, rejected: 0 });
      else if (answer !== 'ignore') call.emit('error', answer);
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  }

  async function start(): Promise<void> {
    const s = new grpc.Server();
    s.addService(ingestServiceDefinition, { stream: handle });
    boundPort = await new Promise<number>((resolve, reject) =>
      s.bindAsync(`127.0.0.1:${boundPort}`, opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    server = s;
  }

  await start();
  return {
    get port() {
      return boundPort;
    },
    get address() {
      return `127.0.0.1:${boundPort}`;
    },
    batches,
    get streams() {
      return streams;
    },
    events: () => batches.flatMap((b) => b.events),
    async stop() {
      server?.forceShutdown();
      server = undefined;
    },
    start,
  };
}
