/**
 * The agent's composition root: sensor → container resolver → pipeline → transport.
 * The CLI (`tripline agent`, `tripline up`) parses the config, creates the root logger,
 * the Registry and the sensor, and calls startAgent. Nothing runs at import time.
 */
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import type { AgentConfig } from './config.js';
import { createCgroupIndex } from './containers/cgroup-index.js';
import { createContainerResolver } from './containers/cgroup-resolver.js';
import { findCgroupV2Root } from './containers/cgroup-root.js';
import type { PodResolver } from './containers/pod-resolver.js';
import { createAgentMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { createPipeline } from './pipeline/event-pipeline.js';
import type { Sensor } from './sensors/sensor.js';
import type { Transport } from './transport/transport.js';

export interface AgentDeps {
  readonly log: Logger;
  readonly registry: Registry;
  readonly sensor: Sensor;
  /** Replaces the gRPC transport (e.g. createPrintTransport for `--print`). */
  readonly transport?: Transport;
  /** Supplies pod and owner identity for Kubernetes containers. */
  readonly podResolver?: PodResolver;
  /** Serve `registry` on config.metricsListen (default true; false when the caller serves it). */
  readonly serveMetrics?: boolean;
}

export interface RunningAgent {
  /** Random id of this run, carried in every batch and report. */
  readonly agentRunId: string;
  /** The bound metrics address, when served. */
  readonly metricsAddress: string | undefined;
  /** Stops the sensor, flushes the pipeline (with a final report) and the transport; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts the agent; rejects (after undoing what it started) when any stage cannot start. */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const log = deps.log.child({ component: 'agent' });
  const metrics = createAgentMetrics(deps.registry);
  const agentRunId = randomUUID();

  const cgroupRoot = config.containers.cgroupRoot ?? findCgroupV2Root();
  if (cgroupRoot === undefined) {
    log.warn('no cgroup v2 hierarchy mounted: events will be named by cgroup id only');
  }
  const index = createCgroupIndex({
    root: cgroupRoot ?? '/nonexistent',
    rewalkIntervalMs: config.containers.rewalkIntervalMs,
    onWalk: () => metrics.cgroupWalks.inc(),
  });
  const resolver = createContainerResolver({
    index,
    cluster: config.cluster,
    cacheSize: config.containers.cacheSize,
    sweepIntervalMs: config.containers.sweepIntervalMs,
    podResolver: deps.podResolver,
    log: deps.log,
    onResolve: (result) => metrics.resolutions.inc({ result }),
  });
  // Loaded only when used: @grpc/grpc-js and its dependencies are tens of modules
  // (megabytes of heap) that an agent printing or handed another transport never runs.
  const transport =
    deps.transport ??
    (await import('./transport/grpc-transport.js')).createGrpcTransport({
      collector: config.collector,
      spool: config.spool,
      agentRunId,
      metrics,
      log: deps.log,
    });

  const undo: Array<() => Promise<void> | void> = [() => resolver.close()];
  const unwind = async (): Promise<void> => {
    for (const u of undo.splice(0).reverse()) await u();
  };
  try {
    const metricsServer: MetricsServer | undefined =
      deps.serveMetrics === false ? undefined : await startMetricsServer(config.metricsListen, deps.registry, deps.log);
    if (metricsServer) undo.push(() => metricsServer.close());
    await transport.start();
    undo.push(() => transport.stop());
    const pipeline = createPipeline({
      config: config.pipeline,
      node: config.node,
      agentRunId,
      sensor: deps.sensor,
      resolver,
      transport,
      metrics,
      log: deps.log,
    });
    pipeline.start();
    undo.push(() => pipeline.stop());
    await deps.sensor.start(pipeline.emit);
    undo.push(() => deps.sensor.stop());
    log.info(
      {
        node: config.node,
        cluster: config.cluster,
        sensor: deps.sensor.name,
        transport: transport.name,
        cgroupRoot,
        agentRunId,
      },
      'agent started',
    );
    let stopping: Promise<void> | undefined;
    return {
      agentRunId,
      metricsAddress: metricsServer?.address,
      stop: () => (stopping ??= unwind().then(() => log.info('agent stopped'))),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
