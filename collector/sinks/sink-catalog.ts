/**
 * Every sink type Tripline ships: how its config is read and how it is built. The
 * `sinks` list of the config file names a type per entry; an unknown type is a start-up
 * problem, not a silent skip.
 */
import type { Problems } from '../../lib/config-problems.js';
import type { Sink } from './sink.js';
import type { BaseSinkConfig, SinkDeps } from './sink-config.js';
import { parseAlertmanagerSinkConfig } from './alertmanager/alertmanager-config.js';
import { parseElasticsearchSinkConfig } from './elasticsearch/elasticsearch-config.js';
import { parseHecSinkConfig } from './hec/hec-config.js';
import { parseKafkaSinkConfig } from './kafka/kafka-config.js';
import { parseSyslogSinkConfig } from './syslog/syslog-config.js';
import { parseTerminalSinkConfig } from './terminal/terminal-config.js';
import { parseWebhookSinkConfig } from './webhook/webhook-config.js';

interface SinkType<C extends BaseSinkConfig> {
  parse(raw: Record<string, unknown>, path: string, problems: Problems): C;
  /** Loads the sink's module only when one is configured (kafkajs is large; agents read this config too). */
  create(config: C, deps: SinkDeps): Promise<Sink>;
}

function type<C extends BaseSinkConfig>(
  parse: SinkType<C>['parse'],
  create: SinkType<C>['create'],
): SinkType<BaseSinkConfig> {
  return { parse, create: create as SinkType<BaseSinkConfig>['create'] };
}

const SINK_TYPES: Readonly<Record<string, SinkType<BaseSinkConfig>>> = {
  terminal: type(parseTerminalSinkConfig, async (c, d) =>
    (await import('./terminal/terminal-sink.js')).createTerminalSink(c, d),
  ),
  webhook: type(parseWebhookSinkConfig, async (c, d) =>
    (await import('./webhook/webhook-sink.js')).createWebhookSink(c, d),
  ),
  syslog: type(parseSyslogSinkConfig, async (c, d) => (await import('./syslog/syslog-sink.js')).createSyslogSink(c, d)),
  hec: type(parseHecSinkConfig, async (c, d) => (await import('./hec/hec-sink.js')).createHecSink(c, d)),
  elasticsearch: type(parseElasticsearchSinkConfig, async (c, d) =>
    (await import('./elasticsearch/elasticsearch-sink.js')).createElasticsearchSink(c, d),
  ),
  alertmanager: type(parseAlertmanagerSinkConfig, async (c, d) =>
    (await import('./alertmanager/alertmanager-sink.js')).createAlertmanagerSink(c, d),
  ),
  kafka: type(parseKafkaSinkConfig, async (c, d) => (await import('./kafka/kafka-sink.js')).createKafkaSink(c, d)),
};

/** Reads the `sinks` list, reporting every problem (unknown types, duplicate ids). */
export function parseSinkConfigs(raw: unknown, problems: Problems, path = 'sinks'): readonly BaseSinkConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.add(path, 'must be a list of sinks');
    return [];
  }
  const configs: BaseSinkConfig[] = [];
  const ids = new Set<string>();
  raw.forEach((entry: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.add(at, 'must be a mapping with at least id and type');
      return;
    }
    const t = (entry as Record<string, unknown>).type;
    const sinkType = typeof t === 'string' ? SINK_TYPES[t] : undefined;
    if (!sinkType) {
      problems.add(`${at}.type`, `must be one of ${Object.keys(SINK_TYPES).join(', ')}`);
      return;
    }
    const config = sinkType.parse(entry as Record<string, unknown>, at, problems);
    if (ids.has(config.id)) problems.add(`${at}.id`, `duplicate sink id ${config.id}`);
    ids.add(config.id);
    configs.push(config);
  });
  return configs;
}

/** Builds the sinks of validated configs. */
export function createSinks(configs: readonly BaseSinkConfig[], deps: SinkDeps): Promise<Sink[]> {
  return Promise.all(configs.map((c) => SINK_TYPES[c.type]!.create(c, deps)));
}
