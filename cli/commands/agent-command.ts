/**
 * `tripline agent`: the node agent alone. Imports nothing of the collector, so the
 * DaemonSet's process carries only what the agent runs (the Kubernetes client is loaded
 * only when `agent.kubernetes` is configured).
 */
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createRootLogger, type Logger } from '../../lib/logger.js';
import type { AgentConfig } from '../../agent/config.js';
import type { PodResolver } from '../../agent/containers/pod-resolver.js';
import { startAgent } from '../../agent/main.js';
import { createEbpfSensor } from '../../agent/sensors/ebpf/ebpf-sensor.js';
import { createReplaySensor } from '../../agent/sensors/replay/replay-sensor.js';
import type { Sensor } from '../../agent/sensors/sensor.js';
import { createPrintTransport } from '../../agent/transport/print-transport.js';
import type { TriplineConfig } from '../tripline-config.js';
import { stopOnSignals, type Stoppable } from './shutdown.js';

export interface RunFlags {
  /** `tripline agent --print`: JSON lines to stdout instead of a collector. */
  readonly print?: boolean;
  /** `tripline agent --collector HOST:PORT`. */
  readonly collector?: string;
  /** `--replay FILE`: read recorded events instead of the kernel. */
  readonly replay?: string;
}

/** The root logger and the process's one metrics Registry. */
export function processTelemetry(config: TriplineConfig): { log: Logger; registry: Registry } {
  const log = createRootLogger({ level: config.logLevel });
  const registry = new Registry();
  // The event-loop delay monitor samples every 10 ms by default: ~100 wakeups a second
  // and about 1 % of a core on an idle agent. 100 ms keeps the metric useful.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  return { log, registry };
}

export function sensorFor(config: TriplineConfig, flags: RunFlags, log: Logger, registry: Registry): Sensor {
  if (flags.replay) return createReplaySensor({ path: flags.replay, log });
  return createEbpfSensor({
    config: config.sensor,
    log,
    registry,
    cgroupRoot: config.agent.containers.cgroupRoot,
    // Beside the spool, on the host path that outlives the agent's pod.
    ...(config.agent.spool.dir ? { dnsStateFile: join(config.agent.spool.dir, 'dns-names.json') } : {}),
  });
}

/** The node-local pod informer when `agent.kubernetes` is configured, started (listed) before the sensor. */
export async function podResolverFor(
  config: TriplineConfig,
  log: Logger,
  registry: Registry,
): Promise<(PodResolver & Stoppable) | undefined> {
  const kube = config.agentKubernetes;
  if (!kube) return undefined;
  const [{ createKubePodResolver }, { loadKubeConfig }] = await Promise.all([
    import('../../agent/kube/kube-pod-resolver.js'),
    import('../../lib/kube/kube-config.js'),
  ]);
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

export function withCollector(agent: AgentConfig, address: string, token: string): AgentConfig {
  return { ...agent, collector: { ...agent.collector, address, token, tokenFile: undefined } };
}

export async function runAgent(config: TriplineConfig, flags: RunFlags): Promise<void> {
  const { log, registry } = processTelemetry(config);
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
  await stopOnSignals(log, [agent, ...(podResolver ? [podResolver] : [])]);
}
