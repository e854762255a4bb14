import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Problems } from '../../../../lib/config-problems.js';
import { parseAlertmanagerSinkConfig } from '../../../../collector/sinks/alertmanager/alertmanager-sink.js';
import { parseElasticsearchSinkConfig } from '../../../../collector/sinks/elasticsearch/elasticsearch-sink.js';
import { parseHecSinkConfig } from '../../../../collector/sinks/hec/hec-sink.js';
import { kafkaClientConfig, parseKafkaSinkConfig } from '../../../../collector/sinks/kafka/kafka-sink.js';
import { silentLogger } from '../../../../lib/logger.js';
import { parseSyslogSinkConfig } from '../../../../collector/sinks/syslog/syslog-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'tripline-sink-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parse<T>(
  fn: (raw: Record<string, unknown>, path: string, p: Problems) => T,
  raw: Record<string, unknown>,
): { config: T; problems: readonly string[] } {
  const problems = new Problems();
  const config = fn(raw, 'sinks[1]', problems);
  return { config, problems: problems.all };
}

describe('syslog sink config', () => {
  it('fills defaults and freezes', () => {
    const { config, problems } = parse(parseSyslogSinkConfig, {
      id: 's',
      type: 'syslog',
      host: 'siem',
      transport: 'tls',
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      port: 6514,
      framing: 'octet-counting',
      format: 'rfc5424',
      facility: 16,
      appName: 'tripline',
      sdId: 'tripline@32473',
      maxBatch: 100,
    });
    expect(config.tls).toMatchObject({ insecureSkipVerify: false });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every problem with its path', () => {
    const { problems } = parse(parseSyslogSinkConfig, {
      id: 's',
      type: 'syslog',
      transport: 'quic',
      port: 70000,
      facility: 'mail2',
      sdId: 'bad id',
      connectTimeout: 'soon',
      tls: { caFile: 3 },
    });
    expect(problems).toEqual([
      'sinks[1].transport: must be one of tcp, tls, udp',
      'sinks[1].host: is required (receiver host name or address)',
      'sinks[1].port: must be a port number 1-65535',
      expect.stringMatching(/^sinks\[1\]\.facility: must be 0-23 or one of kern/),
      expect.stringMatching(/^sinks\[1\]\.sdId: /),
      'sinks[1].tls.caFile: must be a file path',
      'sinks[1].tls: is only used with transport: tls',
      'sinks[1].connectTimeout: must be a positive duration like "5s"',
    ]);
  });
});

describe('HEC sink config', () => {
  it('appends the event endpoint to a base URL and reads the token from a file', () => {
    const tokenFile = join(dir, 'hec-token');
    writeFileSync(tokenFile, 'abc-123\n');
    const { config, problems } = parse(parseHecSinkConfig, {
      id: 'h',
      type: 'hec',
      url: 'https://splunk:8088',
      tokenFile,
      format: 'ocsf',
    });
    expect(problems).toEqual([]);
    expect(config.url.href).toBe('https://splunk:8088/services/collector/event');
    expect(config.token).toBe('abc-123');
    expect(config.sourcetype).toBe('tripline:ocsf');
  });

  it('reports a missing token, a bad URL, format and channel together', () => {
    const { problems } = parse(parseHecSinkConfig, {
      id: 'h',
      type: 'hec',
      url: 'ftp://x',
      format: 'xml',
      channel: 'nope',
    });
    expect(problems).toEqual([
      'sinks[1].url: must be an http(s) URL of the HEC endpoint, e.g. https://splunk:8088',
      'sinks[1]: needs exactly one of token and tokenFile',
      'sinks[1].format: must be json or ocsf',
      'sinks[1].channel: must be a GUID',
    ]);
  });
});

describe('Elasticsearch sink config', () => {
  it('accepts basic auth or an API key, not both', () => {
    expect(
      parse(parseElasticsearchSinkConfig, {
        id: 'e',
        type: 'elasticsearch',
        url: 'http://es:9200',
        auth: { apiKey: 'k' },
      }).config.auth,
    ).toEqual({ kind: 'apiKey', apiKey: 'k' });
    const { problems } = parse(parseElasticsearchSinkConfig, {
      id: 'e',
      type: 'elasticsearch',
      url: 'http://es:9200',
      index: 'Upper',
      auth: { apiKey: 'k', username: 'u' },
    });
    expect(problems).toEqual([
      'sinks[1].index: must be a lowercase index, alias or data stream name',
      'sinks[1].auth: needs either username (with password or passwordFile) or apiKey (or apiKeyFile)',
    ]);
  });
});

describe('Kafka sink config', () => {
  it('defaults and SASL problems', () => {
    const ok = parse(parseKafkaSinkConfig, {
      id: 'k',
      type: 'kafka',
      brokers: ['b1:9092'],
      topic: 'tripline.incidents',
    });
    expect(ok.problems).toEqual([]);
    expect(ok.config).toMatchObject({
      format: 'json',
      idempotent: false,
      compression: 'none',
      maxBatch: 100,
      clientId: 'tripline-collector',
    });
    const bad = parse(parseKafkaSinkConfig, {
      id: 'k',
      type: 'kafka',
      brokers: ['b1'],
      topic: 'a b',
      sasl: { mechanism: 'kerberos' },
    });
    expect(bad.problems).toEqual([
      'sinks[1].brokers: must list bootstrap brokers as "host:port"',
      'sinks[1].topic: must be a Kafka topic name (letters, digits, ".", "_", "-"; ≤ 249)',
      'sinks[1].sasl.mechanism: must be one of plain, scram-sha-256, scram-sha-512',
      'sinks[1].sasl.username: is required',
      'sinks[1].sasl: needs exactly one of password and passwordFile',
    ]);
  });
});

describe('Kafka client settings', () => {
  it('passes TLS material and SASL credentials through to kafkajs', () => {
    const ca = join(dir, 'kafka-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nnot-parsed-here\n-----END CERTIFICATE-----\n');
    const passwordFile = join(dir, 'kafka-password');
    writeFileSync(passwordFile, 'pw\n');
    const { config, problems } = parse(parseKafkaSinkConfig, {
      id: 'k',
      type: 'kafka',
      brokers: ['b1:9093'],
      topic: 't',
      tls: { caFile: ca, serverName: 'kafka.internal' },
      sasl: { mechanism: 'scram-sha-512', username: 'tripline', passwordFile },
    });
    expect(problems).toEqual([]);
    const client = kafkaClientConfig(config, silentLogger());
    expect(client.ssl).toMatchObject({ rejectUnauthorized: true, servername: 'kafka.internal' });
    expect(String((client.ssl as { ca: Buffer }).ca)).toContain('not-parsed-here');
    expect(client.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'tripline', password: 'pw' });
    expect(kafkaClientConfig({ ...config, tls: undefined, sasl: undefined }, silentLogger())).toMatchObject({
      ssl: undefined,
      sasl: undefined,
    });
  });
});

describe('Alertmanager sink config', () => {
  it('accepts url or urls and validates extra labels', () => {
    const ok = parse(parseAlertmanagerSinkConfig, { id: 'a', type: 'alertmanager', url: 'http://am:9093' });
    expect(ok.problems).toEqual([]);
    expect(ok.config.urls.map((u) => u.href)).toEqual(['http://am:9093/api/v2/alerts']);
    expect(ok.config.endsAfterMs).toBe(3_600_000);
    const bad = parse(parseAlertmanagerSinkConfig, {
      id: 'a',
      type: 'alertmanager',
      urls: [],
      endsAfter: '10s',
      generatorUrl: 'not a url {id}',
      extraLabels: { 'bad-name': 'x', __x: 'y' },
    });
    expect(bad.problems).toEqual([
      'sinks[1].urls: must list at least one Alertmanager URL (or give url)',
      'sinks[1].endsAfter: must be a duration of at least 1m',
      'sinks[1].generatorUrl: must be a URL, optionally with {id} for the incident id',
      'sinks[1].extraLabels.bad-name: is not a valid label name',
      'sinks[1].extraLabels.__x: is not a valid label name',
    ]);
  });
});
