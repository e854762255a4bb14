import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { Intake } from '../enrich/intake.js';
import type { AgentAuthenticator } from './agent-authenticator.js';
import type { IngestConfig } from './ingest-config.js';

/** An agent stream currently open on this collector. */
export interface ConnectedAgent {
  /** Identity the authenticator returned. */
  readonly identity: string;
  /** Node name the agent reported ('' until its first batch names one). */
  readonly node: string;
  /** The agent's run id ('' until its first batch). */
  readonly agentRunId: string;
  /** Remote address of the connection, "ip:port". */
  readonly peer: string;
  /** Wall-clock milliseconds when the stream was authenticated. */
  readonly connectedAtMs: number;
  /** Batches applied and acknowledged on this stream. */
  readonly batches: number;
  /** Envelopes applied on this stream. */
  readonly envelopes: number;
}

/**
 * Receives agents' event batches over gRPC (tripline.v1.Ingest/Stream), hands them to
 * the intake and acknowledges each batch once the intake has applied it.
 */
export interface IngestServer {
  /** Binds the listener; rejects with every problem (TLS files, insecure address, bind). */
  start(): Promise<{ port: number }>;
  /**
   * Stops accepting streams, lets batches being applied finish and be acknowledged for
   * up to `graceMs`, ends every stream with UNAVAILABLE (agents reconnect), then cancels
   * what is left. Resolves when the listener is closed.
   */
  stop(graceMs: number): Promise<void>;
  /** Streams open right now, for the API and console. */
  connectedAgents(): readonly ConnectedAgent[];
}

/** What createIngestServer needs. */
export interface IngestServerDeps {
  readonly log: Logger;
  readonly registry: Registry;
  readonly intake: Intake;
  readonly authenticator: AgentAuthenticator;
  readonly config: IngestConfig;
}
