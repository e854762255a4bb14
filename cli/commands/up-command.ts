/**
 * `tripline up` (collector + local agent in one process: the embedded default) and
 * `tripline collector`.
 */
import { join } from 'node:path';
import { startAgent } from '../../agent/main.js';
import { startCollector } from '../../collector/main.js';
import { readOrCreateToken } from '../../collector/secrets.js';
import { parseTerminalSinkConfig } from '../../collector/sinks/terminal/terminal-config.js';
import { createTerminalSink } from '../../collector/sinks/terminal/terminal-sink.js';
import { Problems } from '../../lib/config-problems.js';
import type { TriplineConfig } from '../tripline-config.js';
import { podResolverFor, processTelemetry, sensorFor, withCollector, type RunFlags } from './agent-command.js';
import { stopOnSignals } from './shutdown.js';

export async function runUp(config: TriplineConfig, flags: RunFlags): Promise<void> {
  const { log, registry } = processTelemetry(config);
  const agentToken = readOrCreateToken(join(config.dataDir, 'agent-token'));
  const problems = new Problems();
  const terminalConfig = parseTerminalSinkConfig(
    { id: 'terminal', type: 'terminal', minSeverity: 'info' },
    'terminal',
    problems,
  );
  problems.throwIfAny();
  const collector = await startCollector(config.collector, {
    log,
    registry,
    dataDir: config.dataDir,
    extraSinks: [createTerminalSink(terminalConfig, { log, registry })],
    agentTokens: [agentToken],
  });
  let agent;
  let podResolver;
  try {
    podResolver = await podResolverFor(config, log, registry);
    const host = config.collector.ingest.host;
    const address = `${host.includes(':') ? `[${host}]` : host}:${collector.ingestPort}`;
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
  log.info(
    { api, dataDir: config.dataDir },
    `tripline is up: API and /metrics on ${api}; incidents print here. Ctrl-C stops.`,
  );
  await stopOnSignals(log, [agent, ...(podResolver ? [podResolver] : []), collector]);
}

export async function runCollector(config: TriplineConfig): Promise<void> {
  const { log, registry } = processTelemetry(config);
  const collector = await startCollector(config.collector, { log, registry, dataDir: config.dataDir });
  await stopOnSignals(log, [collector]);
}
