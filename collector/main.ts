/**
 * Composition root of the collector: the only place that builds concrete stages and
 * wires ingest → analysis (enrich → profiles → detect) → incidents → sinks, plus the API.
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import type { CollectorConfig } from './collector-config.js';
import { createAnalyzer } from './analysis/create-analyzer.js';
import type { Analyzer } from './analysis/analyzer.js';
import { createApiServer } from './api/api-server.js';
import type { ComponentHealth } from './api/api-operations.js';
import { createStaticEnricher } from './enrich/static-enricher.js';
import type { Intake } from './enrich/intake.js';
import { createIncidentPipeline } from './incidents/create-incident-pipeline.js';
import type { AgentAuthenticator } from './ingest/agent-authenticator.js';
import { createIngestServer } from './ingest/grpc-ingest-server.js';
import { createStaticTokenAuthenticator } from './ingest/static-token-authenticator.js';
import { createStaticPolicySource } from './policy/static-policy-source.js';
import type { PolicySource } from './policy/policy.js';
import { createFileProfileStore } from './profiles/file-profile-store.js';
import type { ProfileStore } from './profiles/profile-store.js';
import { readOrCreateToken } from './secrets.js';
import { createSinks } from './sinks/sink-catalog.js';
import type { Sink } from './sinks/sink.js';

export interface CollectorDeps {
  readonly log: Logger;
  readonly registry: Registry;
  readonly dataDir: string;
  /** Extra sinks beside the configured ones (the terminal printer of `tripline up`). */
  readonly extraSinks?: readonly Sink[];
  /** Agent tokens accepted besides the configured ones (the local agent of `tripline up`). */
  readonly agentTokens?: readonly string[];
}

export interface RunningCollector {
  readonly ingestPort: number;
  readonly apiPort: number;
  readonly apiToken: string;
  readonly analyzer: Analyzer;
  /** Stops ingest first (agents keep their batches), then persists profiles and incidents. */
  stop(): Promise<void>;
}

const INGEST_GRACE_MS = 5_000;

export async function startCollector(config: CollectorConfig, deps: CollectorDeps): Promise<RunningCollector> {
  const { log, registry, dataDir } = deps;
  const configPolicy = createStaticPolicySource(config.policy);
  // In a cluster the API server holds baselines and policies and vouches for agents;
  // the embedded default keeps them in the data dir and config file.
  const kube = config.kubernetes
    ? (await import('./kube/kube-collector-integration.js')).createKubeCollectorIntegration({
        kubeConfig: (await import('../lib/kube/kube-config.js')).loadKubeConfig(config.kubernetes.kubeconfig),
        config: config.kubernetes,
        basePolicy: configPolicy,
        log,
        registry,
      })
    : undefined;
  await kube?.start();
  const policies: PolicySource = kube?.policies ?? configPolicy;
  const store: ProfileStore =
    kube?.profiles ?? createFileProfileStore({ dir: join(dataDir, 'profiles'), log, registry });
  const sinks = [...(deps.extraSinks ?? []), ...(await createSinks(config.sinks, { log, registry }))];
  const incidents = createIncidentPipeline({ log, registry, dataDir, sinks, config: config.incidents });
  const enricher = createStaticEnricher({ config: config.enrich, policies, peers: kube?.peers });
  const analyzer = createAnalyzer({
    log,
    registry,
    enricher,
    policies,
    store,
    findings: incidents,
    config: config.analysis,
  });
  // An agent's batch is acknowledged only once its incidents are durable in the outbox.
  const intake: Intake = {
    async apply(events, source) {
      await analyzer.apply(events, source);
      await incidents.whenDurable();
    },
    applyReport: (report, source) => analyzer.applyReport(report, source),
  };
  const authenticator: AgentAuthenticator =
    kube?.authenticator ??
    createStaticTokenAuthenticator([...config.ingest.tokens, ...(deps.agentTokens ?? [])], {
      tokenFile: config.ingest.tokenFile,
      log,
    });
  const ingest = createIngestServer({ log, registry, intake, authenticator, config: config.ingest });
  const apiToken = readOrCreateToken(config.api.tokenFile ?? join(dataDir, 'api-token'));
  let ingestUp = false;
  const health = (): ComponentHealth[] => [
    { name: 'ingest', ok: ingestUp, detail: `${ingest.connectedAgents().length} agent stream(s)` },
    ...incidents.health().map((h) => ({
      name: `sink:${h.id}`,
      ok: h.ok,
      detail: `${h.state}, depth ${h.depth}${h.lastError ? `, last error: ${h.lastError}` : ''}`,
    })),
  ];
  const api = createApiServer({
    log,
    registry,
    profiles: analyzer,
    incidents,
    health,
    token: apiToken,
    host: config.api.host,
    port: config.api.port,
  });

  await analyzer.start();
  incidents.start();
  const { port: ingestPort } = await ingest.start();
  ingestUp = true;
  const { port: apiPort } = await api.start();
  log.info({ ingestPort, apiPort, dataDir, sinks: sinks.map((s) => s.id) }, 'collector started');

  return {
    ingestPort,
    apiPort,
    apiToken,
    analyzer,
    async stop() {
      ingestUp = false;
      await ingest.stop(INGEST_GRACE_MS);
      await api.stop();
      await analyzer.stop();
      await incidents.stop();
      await store.close();
      await kube?.stop();
      log.info('collector stopped');
    },
  };
}
