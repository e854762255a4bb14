/**
 * The collector's part of the config file: one section per stage, each read by the
 * stage's own parser so every problem in every section is listed together.
 */
import type { Problems } from '../lib/config-problems.js';
import { parseAnalysisConfig, type AnalysisConfig } from './analysis/analysis-config.js';
import { parseEnrichConfig, type EnrichConfig } from './enrich/enrich-config.js';
import { parseIncidentPipelineConfig, type IncidentPipelineConfig } from './incidents/incident-pipeline-config.js';
import { parseIngestConfig, parseListenAddress, type IngestConfig } from './ingest/ingest-config.js';
import { parsePolicyConfig, type PolicyConfig } from './policy/policy-config.js';
import { parseKubeCollectorConfig, type KubeCollectorConfig } from './kube/kube-collector-config.js';
import type { BaseSinkConfig } from './sinks/sink-config.js';
import { parseSinkConfigs } from './sinks/sink-catalog.js';

export interface ApiConfig {
  /** host:port of the HTTP API, console and /metrics (default 127.0.0.1:7680). */
  readonly listen: string;
  readonly host: string;
  readonly port: number;
  /** File holding the API bearer token; default <dataDir>/api-token, created when missing. */
  readonly tokenFile: string | undefined;
}

export interface CollectorConfig {
  readonly ingest: IngestConfig;
  readonly api: ApiConfig;
  readonly policy: PolicyConfig;
  readonly enrich: EnrichConfig;
  readonly analysis: AnalysisConfig;
  readonly incidents: IncidentPipelineConfig;
  readonly sinks: readonly BaseSinkConfig[];
  /** Present when the collector runs in a cluster: baselines and policies in the API server, TokenReview for agents. */
  readonly kubernetes: KubeCollectorConfig | undefined;
}

function parseApiConfig(raw: unknown, problems: Problems): ApiConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) {
    problems.add('api', 'must be a mapping');
    return { listen: '127.0.0.1:7680', host: '127.0.0.1', port: 7680, tokenFile: undefined };
  }
  for (const k of Object.keys(o)) if (k !== 'listen' && k !== 'tokenFile') problems.add(`api.${k}`, 'unknown setting');
  const listen = o.listen ?? '127.0.0.1:7680';
  const parsed = typeof listen === 'string' ? parseListenAddress(listen) : 'must be host:port';
  if (typeof parsed === 'string') problems.add('api.listen', parsed);
  if (o.tokenFile !== undefined && typeof o.tokenFile !== 'string')
    problems.add('api.tokenFile', 'must be a file path');
  const addr = typeof parsed === 'string' ? { host: '127.0.0.1', port: 7680 } : parsed;
  return Object.freeze({ listen: String(listen), ...addr, tokenFile: o.tokenFile as string | undefined });
}

/** Reads every collector section of the raw config tree. */
export function parseCollectorConfig(
  raw: Record<string, unknown>,
  problems: Problems,
  env: NodeJS.ProcessEnv = process.env,
): CollectorConfig {
  return Object.freeze({
    ingest: parseIngestConfig(raw.ingest, problems),
    api: parseApiConfig(raw.api, problems),
    policy: parsePolicyConfig(raw.policy, problems),
    enrich: parseEnrichConfig(raw.enrich, problems),
    analysis: parseAnalysisConfig(raw.analysis, problems),
    incidents: parseIncidentPipelineConfig(raw.incidents, problems),
    sinks: parseSinkConfigs(raw.sinks, problems),
    kubernetes:
      raw.kubernetes === undefined ? undefined : parseKubeCollectorConfig(raw.kubernetes, problems, 'kubernetes', env),
  });
}
