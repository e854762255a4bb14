/**
 * The whole config file (tripline.yaml): top-level settings plus the agent's and the
 * collector's sections. Every section is read even when an earlier one failed, so one
 * start-up error lists every problem in the file.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Problems } from '../lib/config-problems.js';
import { parseAgentConfig, type AgentConfig } from '../agent/config.js';
import { parseEbpfSensorConfig, type EbpfSensorConfig } from '../agent/sensors/ebpf/ebpf-sensor-config.js';
import { parseKubePodResolverConfig, type KubePodResolverConfig } from '../agent/kube/kube-pod-resolver-config.js';
import { parseCollectorConfig, type CollectorConfig } from '../collector/collector-config.js';
import { loadRawConfig, section, type RawConfig } from './config-source.js';

export interface TriplineConfig {
  /** Profiles, outbox, tokens and the agent's spool live here. */
  readonly dataDir: string;
  readonly logLevel: string;
  readonly agent: AgentConfig;
  /** Present when the agent resolves pods through the Kubernetes API (`agent.kubernetes`). */
  readonly agentKubernetes: KubePodResolverConfig | undefined;
  readonly sensor: EbpfSensorConfig;
  readonly collector: CollectorConfig;
}

const COLLECTOR_KEYS = ['ingest', 'api', 'policy', 'enrich', 'analysis', 'incidents', 'sinks', 'kubernetes'];
const TOP_KEYS = new Set(['dataDir', 'logLevel', 'agent', 'sensor', ...COLLECTOR_KEYS]);
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Root: /var/lib/tripline; others: $XDG_STATE_HOME/tripline or ~/.local/state/tripline. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/tripline';
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'tripline');
}

export interface ConfigInputs {
  readonly file: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** Command-line settings, applied over file and environment. */
  readonly overrides?: { readonly dataDir?: string; readonly logLevel?: string };
}

/** Loads, validates and freezes the config; throws ConfigError listing every problem. */
export function loadTriplineConfig(inputs: ConfigInputs): TriplineConfig {
  const raw: RawConfig = loadRawConfig(inputs.file, inputs.env);
  const problems = new Problems();
  for (const key of Object.keys(raw)) if (!TOP_KEYS.has(key)) problems.add(key, 'unknown setting');
  const dataDir =
    inputs.overrides?.dataDir ?? inputs.env.TRIPLINE_DATA_DIR ?? raw.dataDir ?? defaultDataDir(inputs.env);
  if (typeof dataDir !== 'string' || !dataDir.startsWith('/')) problems.add('dataDir', 'must be an absolute path');
  const logLevel = inputs.overrides?.logLevel ?? raw.logLevel ?? 'info';
  if (typeof logLevel !== 'string' || !LOG_LEVELS.includes(logLevel)) {
    problems.add('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const { kubernetes: agentKubeRaw, ...agentRaw } = section(raw, 'agent', problems);
  // The spool lives in the data dir unless the agent section says otherwise.
  const spool = (agentRaw.spool ?? {}) as RawConfig;
  const agent = parseAgentConfig({ ...agentRaw, spool: { dir: join(String(dataDir), 'spool'), ...spool } }, problems);
  const agentKubernetes =
    agentKubeRaw === undefined
      ? undefined
      : parseKubePodResolverConfig(agentKubeRaw, problems, 'agent.kubernetes', inputs.env);
  const sensor = parseEbpfSensorConfig(section(raw, 'sensor', problems).ebpf, problems, 'sensor.ebpf');
  const collector = parseCollectorConfig(raw, problems, inputs.env);
  problems.throwIfAny();
  return Object.freeze({
    dataDir: String(dataDir),
    logLevel: String(logLevel),
    agent,
    agentKubernetes,
    sensor,
    collector,
  });
}
