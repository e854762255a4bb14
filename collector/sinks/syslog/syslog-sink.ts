/**
 * Syslog sink: incidents as RFC 5424 messages (structured data, or a CEF line) over TCP
 * or TLS with octet-counting framing, or over UDP.
 *
 * Delivery over stream syslog is "accepted by the kernel", not "stored by the receiver":
 * there is no application acknowledgement, so a connection that dies right after a write
 * can lose that write. A write error or a closed connection is retryable and the outbox
 * re-sends; receivers that need exactly-what-was-stored semantics should use HEC or
 * Elasticsearch.
 */
import { Counter, type Registry } from 'prom-client';
import type { Incident } from '../../../proto/incident.js';
import { retryable, SUCCESS, type Result } from '../../../lib/result.js';
import { tlsConnectionOptions } from '../http-post.js';
import type { Sink } from '../sink.js';
import type { SinkDeps } from '../sink-config.js';
import { frame, syslogMessage, truncateUtf8, type SyslogMessageOptions } from './rfc5424.js';
import type { SyslogSinkConfig } from './syslog-config.js';
import { createDatagramTransport, createStreamTransport, type SyslogTransport } from './syslog-transport.js';

export { parseSyslogSinkConfig, type SyslogSinkConfig } from './syslog-config.js';

export function createSyslogSink(config: SyslogSinkConfig, deps: SinkDeps): Sink {
  const log = deps.log.child({ component: 'sink', sink: config.id, type: 'syslog' });
  const connections = connectionCounter(deps.registry);
  const messageOpts: SyslogMessageOptions = {
    format: config.format,
    facility: config.facility,
    hostname: config.hostname,
    appName: config.appName,
    procId: String(process.pid),
    sdId: config.sdId,
  };
  const transport: SyslogTransport =
    config.transport === 'udp'
      ? createDatagramTransport({ host: config.host, port: config.port })
      : createStreamTransport({
          host: config.host,
          port: config.port,
          tls: config.transport === 'tls' && config.tls ? tlsConnectionOptions(config.tls) : undefined,
          connectTimeoutMs: config.connectTimeoutMs,
          writeTimeoutMs: config.writeTimeoutMs,
          log,
          onConnection(event) {
            connections.inc({ sink: config.id, event });
            if (event === 'connected') log.debug({ host: config.host, port: config.port }, 'syslog connected');
          },
        });

  function encode(incident: Incident): Buffer {
    const message = syslogMessage(incident, messageOpts);
    return config.transport === 'udp' ? truncateUtf8(message, config.maxMessageBytes) : frame(message, config.framing);
  }

  return {
    id: config.id,
    type: 'syslog',
    minSeverity: config.minSeverity,
    namespaces: config.namespaces,
    maxBatch: config.maxBatch,
    async send(incidents: readonly Incident[], signal: AbortSignal): Promise<Result> {
      if (incidents.length === 0) return SUCCESS;
      try {
        return await transport.write(incidents.map(encode), signal);
      } catch (err) {
        // Formatting is total over valid incidents; this guards the never-throw contract.
        log.warn({ err }, 'syslog send failed unexpectedly');
        return retryable(`unexpected: ${(err as Error).message}`);
      }
    },
    close: () => transport.close(),
  };
}

function connectionCounter(registry: Registry): Counter<'sink' | 'event'> {
  const name = 'tripline_collector_syslog_connections_total';
  return (
    (registry.getSingleMetric(name) as Counter<'sink' | 'event'> | undefined) ??
    new Counter({
      name,
      help: 'Syslog sink connection events: connected, connect-error, closed.',
      labelNames: ['sink', 'event'],
      registers: [registry],
    })
  );
}
