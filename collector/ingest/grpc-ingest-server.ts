import { readFile } from 'node:fs/promises';
import { Server, ServerCredentials, status, type ChannelOptions } from '@grpc/grpc-js';
import { ingestServiceDefinition } from '../../proto/ingest-service.js';
import { insecureListenProblem, type IngestConfig } from './ingest-config.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { openIngestStream, type IngestCall, type IngestStream, type IngestStreamContext } from './ingest-stream.js';
import type { ConnectedAgent, IngestServer, IngestServerDeps } from './ingest-server.js';
import { createOversizeObserver } from './status-observer.js';

/** The gRPC ingest endpoint agents stream batches to. */
export function createIngestServer(deps: IngestServerDeps): IngestServer {
  const { config } = deps;
  const log = deps.log.child({ component: 'ingest' });
  const metrics = createIngestMetrics(deps.registry);
  const ctx: IngestStreamContext = {
    log,
    metrics,
    intake: deps.intake,
    authenticator: deps.authenticator,
    maxEnvelopesPerBatch: config.maxEnvelopesPerBatch,
  };
  const streams = new Set<IngestStream>();
  let server: Server | undefined;
  let stopping = false;

  function serve(call: IngestCall): void {
    if (stopping) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'collector is shutting down; reconnect' });
      return;
    }
    const stream = openIngestStream(call, ctx);
    streams.add(stream);
    void stream.closed.then(() => streams.delete(stream));
  }

  return {
    async start(): Promise<{ port: number }> {
      if (server) throw new Error('ingest server is already started');
      const insecure = insecureListenProblem(config);
      if (insecure) throw new Error(insecure);
      const credentials = await serverCredentials(config);
      const srv = new Server({ ...serverOptions(config), interceptors: [createOversizeObserver(metrics)] });
      srv.addService(ingestServiceDefinition, { stream: serve });
      const address = config.host.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
      const port = await new Promise<number>((resolve, reject) =>
        srv.bindAsync(address, credentials, (err, boundPort) => {
          if (!err) return resolve(boundPort);
          srv.forceShutdown();
          reject(new Error(`ingest cannot listen on ${address}: ${err.message}`));
        }),
      );
      server = srv;
      stopping = false;
      log.info(
        { listen: address, port, tls: config.tls !== undefined, clientCert: config.tls?.requireClientCert ?? false },
        'ingest listening',
      );
      return { port };
    },

    async stop(graceMs: number): Promise<void> {
      const srv = server;
      if (!srv) return;
      stopping = true;
      // tryShutdown closes the listener and sends GOAWAY: no new streams, open ones go on.
      const shutDown = new Promise<void>((resolve) => srv.tryShutdown(() => resolve()));
      const open = [...streams];
      for (const s of open) s.drain();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
      const outcome = await Promise.race([Promise.all(open.map((s) => s.closed)).then(() => shutDown), graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        log.warn({ streams: streams.size }, 'cancelling agent streams still open after the shutdown grace period');
        // Ending the calls ourselves also covers grpc-js forceShutdown, which only
        // destroys sessions it tracks for channelz (off here).
        for (const s of streams) s.cancel();
        srv.forceShutdown();
      }
      server = undefined;
      log.info('ingest stopped');
    },

    connectedAgents(): readonly ConnectedAgent[] {
      return [...streams].filter((s) => s.agent.identity !== '').map((s) => ({ ...s.agent }));
    },
  };
}

function serverOptions(config: IngestConfig): ChannelOptions {
  const k = config.keepalive;
  const options: ChannelOptions = {
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.keepalive_time_ms': k.timeMs,
    'grpc.keepalive_timeout_ms': k.timeoutMs,
    'grpc.max_connection_idle_ms': k.maxConnectionIdleMs,
    // Channelz bookkeeping costs per call and per message and nothing here reads it.
    'grpc.enable_channelz': 0,
  };
  if (k.maxConnectionAgeMs > 0) options['grpc.max_connection_age_ms'] = k.maxConnectionAgeMs;
  return options;
}

/** TLS or plaintext credentials; one error naming every unreadable file. */
async function serverCredentials(config: IngestConfig): Promise<ServerCredentials> {
  const tls = config.tls;
  if (!tls) return ServerCredentials.createInsecure();
  // Problems are listed in the order of the settings, not in the order the reads fail.
  const problemOf: (string | undefined)[] = [];
  const read = async (i: number, what: string, path: string | undefined): Promise<Buffer | null> => {
    if (path === undefined) return null;
    try {
      return await readFile(path);
    } catch (err) {
      problemOf[i] = `${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      return null;
    }
  };
  const [cert, key, ca] = await Promise.all([
    read(0, 'tls.certFile', tls.certFile),
    read(1, 'tls.keyFile', tls.keyFile),
    read(2, 'tls.clientCaFile', tls.clientCaFile),
  ]);
  const problems = problemOf.filter((p) => p !== undefined);
  if (problems.length || !cert || !key)
    throw new Error(`ingest TLS files cannot be read:\n  - ${problems.join('\n  - ')}`);
  try {
    return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], tls.requireClientCert);
  } catch (err) {
    throw new Error(`ingest TLS material is not usable: ${(err as Error).message}`);
  }
}
