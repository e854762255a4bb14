/**
 * `tripline up`, `tripline collector` and `tripline agent`: the long-running jobs. Each
 * builds the root logger and one metrics Registry, starts its parts, and on SIGINT or
 * SIGTERM stops them in flow order (agent first, so its last batches reach the collector)
 * and persists state before exiting.
 */
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createRootLogger, type Logger } from '../../lib/logger.js';
import type { AgentConfig } from '../../agent/config.js';
import { startAgent } from '../../agent/main.js';
import { loadKubeConfig } from '../../lib/kube/kube-config.js';
import { createKubePodResolver, type KubePodResolver } from '../../agent/kube/kube-pod-resolver.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { createReplaySensor } from '../../agent/sensors/replay/replay-sensor.js';
import type { Sensor } from '../../agent/sensors/sensor.js';
import { createPrintTransport } from '../../agent/transport/print-transport.js';
import { startCollector } from '../../collector/main.js';
import { readOrCreateToken } from '../../collector/secrets.js';
import { parseTerminalSinkConfig } from '../../collector/sinks/terminal/terminal-config.js';
import { createTerminalSink } from '../../collector/sinks/terminal/terminal-sink.js';
import { Problems } from '../../lib/config-problems.js';
import type { TriplineConfig } from '../tripline-config.js';

export interface RunFlags {
  /** `tripline agent --print`: JSON lines to stdout instead of a collector. */
  readonly print?: boolean;
  /** `tripline agent --collector HOST:PORT`. */
  readonly collector?: string;
  /** `--replay FILE`: read recorded events instead of the kernel. */
  readonly replay?: string;
}

type Stoppable = { stop(): Promise<void> };

function onSignals(log: Logger, parts: Stoppable[]): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean stop');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      (async () => {
        for (const p of parts) await p.stop();
      })().then(resolve, (err: unknown) => {
        log.error({ err }, 'clean stop failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

function sensorFor(config: TriplineConfig, flags: RunFlags, log: Logger, registry: Registry): Sensor {
  if (flags.replay) return createReplaySensor({ path: flags.replay, log });
  return createEbpfSensor({ config: config.sensor, log, registry });
}

function withCollector(agent: AgentConfig, address: string, token: string): AgentConfig {
  return { ...agent, collector: { ...agent.collector, address, token, tokenFile: undefined } };
}

function setup(config: TriplineConfig): { log: Logger; registry: Registry } {
  const log = createRootLogger({ level: config.logLevel });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { log, registry };
}

/** Collector + local agent in one process: the embedded default. */
export async function runUp(config: TriplineConfig, flags: RunFlags): Promise<void> {
  const { log, registry } = setup(config);
  const agentToken = readOrCreateToken(join(config.dataDir, 'agent-token'));
  const problems = new Problems();
  const terminal = createTerminalSink(parseTerminalSinkConfig({ id: 'terminal', type: 'terminal', minSeverity: 'info' }, 'terminal', problems), {
    log,
    registry,
  });
  problems.throwIfAny();
  const collector = await startCollector(config.collector, {
    log,
    registry,
    dataDir: config.dataDir,
    extraSinks: [terminal],
    agentTokens: [agentToken],
  });
  let agent;
  let podResolver: KubePodResolver | undefined;
  try {
    podResolver = await podResolverFor(config, log, registry);
    const address = `${config.collector.ingest.host.includes(':') ? `[${config.collector.ingest.host}]` : config.collector.ingest.host}:${collector.ingestPort}`;
    agent = await startAgent(withCollector(config.agent, address, agentToken), {
      log,
      registry,
      sensor: sensorFor(config, flags, log, registry),
      podResolver,
      serveMetrics: false,
    });
  } catch (err) {
    await podResolver?.stop();
    await collector.stop();
    throw err;
  }
  const api = `http://${config.collector.api.host}:${collector.apiPort}`;
  log.info({ api, dataDir: config.dataDir }, `tripline is up: API and /metrics on ${api}; incidents print here. Ctrl-C stops.`);
  await onSignals(log, [agent, ...(podResolver ? [podResolver] : []), collector]);
}

export async function runCollector(config: TriplineConfig): Promise<void> {
  const { log, registry } = setup(config);
  const collector = await startCollector(config.collector, { log, registry, dataDir: config.dataDir });
  await onSignals(log, [collector]);
}

/** The node-local pod informer, when `agent.kubernetes` is configured; started before the sensor. */
async function podResolverFor(config: TriplineConfig, log: Logger, registry: Registry): Promise<KubePodResolver | undefined> {
  const kube = config.agentKubernetes;
  if (!kube) return undefined;
  const resolver = createKubePodResolver({
    kubeConfig: loadKubeConfig(kube.kubeconfig),
    config: kube,
    cluster: config.agent.cluster,
    log,
    registry,
  });
  await resolver.start();
  return resolver;
}

export async function runAgent(config: TriplineConfig, flags: RunFlags): Promise<void> {
  const { log, registry } = setup(config);
  const agentConfig = flags.collector
    ? { ...config.agent, collector: { ...config.agent.collector, address: flags.collector } }
    : config.agent;
  const podResolver = await podResolverFor(config, log, registry);
  const agent = await startAgent(agentConfig, {
    log,
    registry,
    sensor: sensorFor(config, flags, log, registry),
    transport: flags.print ? createPrintTransport({ out: process.stdout, log }) : undefined,
    podResolver,
  });
  await onSignals(log, [agent, ...(podResolver ? [podResolver] : [])]);
}
