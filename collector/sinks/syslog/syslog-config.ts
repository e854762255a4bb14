import { hostname as osHostname } from 'node:os';
import type { Problems } from '../../../lib/config-problems.js';
import { parseDuration } from '../../../lib/duration.js';
import { parseTlsClientConfig, type TlsClientConfig } from '../http-post.js';
import { parseBaseSinkConfig, type BaseSinkConfig } from '../sink-config.js';
import { FACILITIES } from './rfc5424.js';

export interface SyslogSinkConfig extends BaseSinkConfig {
  readonly type: 'syslog';
  readonly host: string;
  /** Default 514 for tcp/udp, 6514 for tls (RFC 5425). */
  readonly port: number;
  readonly transport: 'tcp' | 'tls' | 'udp';
  /** Stream framing; default octet-counting (RFC 6587). Ignored for udp. */
  readonly framing: 'octet-counting' | 'lf';
  /** rfc5424: summary with structured data; cef: a CEF line as the message. */
  readonly format: 'rfc5424' | 'cef';
  /** Facility code 0-23; given as a name ("local0", "authpriv") or a number. Default local0. */
  readonly facility: number;
  /** HOSTNAME header field; default this machine's name. */
  readonly hostname: string;
  /** APP-NAME header field; default "tripline". */
  readonly appName: string;
  /** SD-ID of the structured data element; default "tripline@32473" (set your own enterprise number). */
  readonly sdId: string;
  readonly connectTimeoutMs: number;
  readonly writeTimeoutMs: number;
  /** Largest datagram (udp): longer messages are cut at a character boundary. Default 8192. */
  readonly maxMessageBytes: number;
  readonly tls: TlsClientConfig | undefined;
}

const SD_ID = /^[\x21-\x7e]{1,32}$/;

export function parseSyslogSinkConfig(
  raw: Record<string, unknown>,
  path: string,
  problems: Problems,
): SyslogSinkConfig {
  const base = parseBaseSinkConfig(raw, path, problems, { maxBatch: 100 });
  const oneOf = <T extends string>(key: string, values: readonly T[], dflt: T): T => {
    const v = raw[key] ?? dflt;
    if (!values.includes(v as T)) problems.add(`${path}.${key}`, `must be one of ${values.join(', ')}`);
    return v as T;
  };
  const transport = oneOf('transport', ['tcp', 'tls', 'udp'] as const, 'tcp');
  const framing = oneOf('framing', ['octet-counting', 'lf'] as const, 'octet-counting');
  const format = oneOf('format', ['rfc5424', 'cef'] as const, 'rfc5424');

  const host = raw.host;
  if (typeof host !== 'string' || host === '')
    problems.add(`${path}.host`, 'is required (receiver host name or address)');
  const port = raw.port ?? (transport === 'tls' ? 6514 : 514);
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
    problems.add(`${path}.port`, 'must be a port number 1-65535');
  }

  const rawFacility = raw.facility ?? 'local0';
  let facility = typeof rawFacility === 'string' ? FACILITIES.indexOf(rawFacility) : Number(rawFacility);
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    problems.add(`${path}.facility`, `must be 0-23 or one of ${FACILITIES.join(', ')}`);
    facility = 16;
  }

  const text = (key: string, dflt: string, max: number): string => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'string' || !/^[\x21-\x7e]+$/.test(v) || v.length > max) {
      problems.add(`${path}.${key}`, `must be 1-${max} printable ASCII characters without spaces`);
      return dflt;
    }
    return v;
  };
  const sdId = raw.sdId ?? 'tripline@32473';
  if (typeof sdId !== 'string' || !SD_ID.test(sdId) || /[= \]"]/.test(sdId) || !/^[^@]+(@\d+(\.\d+)*)?$/.test(sdId)) {
    problems.add(
      `${path}.sdId`,
      'must be an SD-ID like "name@<enterprise number>" (≤ 32 characters, no = ] " or spaces)',
    );
  }

  const duration = (key: string, dflt: string): number => {
    const ms = parseDuration(raw[key] ?? dflt);
    if (ms === undefined || ms <= 0) {
      problems.add(`${path}.${key}`, 'must be a positive duration like "5s"');
      return parseDuration(dflt) ?? 1000;
    }
    return ms;
  };
  const maxMessageBytes = raw.maxMessageBytes ?? 8192;
  if (!Number.isInteger(maxMessageBytes) || (maxMessageBytes as number) < 480 || (maxMessageBytes as number) > 65_000) {
    problems.add(`${path}.maxMessageBytes`, 'must be an integer from 480 to 65000');
  }
  const tlsConfig = parseTlsClientConfig(raw.tls, `${path}.tls`, problems);
  if (tlsConfig && transport !== 'tls') problems.add(`${path}.tls`, 'is only used with transport: tls');

  return Object.freeze({
    ...base,
    type: 'syslog' as const,
    host: String(host),
    port: Number(port),
    transport,
    framing,
    format,
    facility,
    hostname: text('hostname', osHostname(), 255),
    appName: text('appName', 'tripline', 48),
    sdId: String(sdId),
    connectTimeoutMs: duration('connectTimeout', '5s'),
    writeTimeoutMs: duration('writeTimeout', '10s'),
    maxMessageBytes: Number(maxMessageBytes),
    tls:
      transport === 'tls'
        ? (tlsConfig ??
          Object.freeze({
            caFile: undefined,
            certFile: undefined,
            keyFile: undefined,
            serverName: undefined,
            insecureSkipVerify: false,
          }))
        : undefined,
  });
}
