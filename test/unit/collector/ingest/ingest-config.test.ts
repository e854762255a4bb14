import { describe, expect, it } from 'vitest';
import { Problems } from '../../../../lib/config-problems.js';
import {
  INGEST_DEFAULTS,
  isLoopbackHost,
  parseIngestConfig,
  parseListenAddress,
} from '../../../../collector/ingest/ingest-config.js';

function parse(raw: unknown): { config: ReturnType<typeof parseIngestConfig>; problems: readonly string[] } {
  const problems = new Problems();
  const config = parseIngestConfig(raw, problems);
  return { config, problems: problems.all };
}

describe('parseIngestConfig', () => {
  it('fills defaults for the embedded collector and freezes the result', () => {
    const { config, problems } = parse(undefined);
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      listen: '127.0.0.1:7443',
      host: '127.0.0.1',
      port: 7443,
      tls: undefined,
      allowInsecure: false,
      maxMessageBytes: 4 * 1024 * 1024,
      maxEnvelopesPerBatch: INGEST_DEFAULTS.maxEnvelopesPerBatch,
      tokens: [],
      tokenFile: undefined,
      keepalive: { timeMs: 30_000, timeoutMs: 10_000, maxConnectionIdleMs: 300_000, maxConnectionAgeMs: 0 },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.keepalive)).toBe(true);
  });

  it('reads a full TLS config with durations', () => {
    const { config, problems } = parse({
      listen: '[::]:7443',
      tls: {
        certFile: '/etc/tripline/tls.crt',
        keyFile: '/etc/tripline/tls.key',
        clientCaFile: '/etc/tripline/ca.crt',
        requireClientCert: true,
      },
      maxMessageBytes: 1024 * 1024,
      maxEnvelopesPerBatch: 2000,
      tokenFile: '/var/run/secrets/tripline/agent-tokens',
      keepalive: { time: '20s', timeout: '5s', maxConnectionIdle: '10m', maxConnectionAge: '1h' },
    });
    expect(problems).toEqual([]);
    expect(config.host).toBe('::');
    expect(config.tls).toEqual({
      certFile: '/etc/tripline/tls.crt',
      keyFile: '/etc/tripline/tls.key',
      clientCaFile: '/etc/tripline/ca.crt',
      requireClientCert: true,
    });
    expect(config.keepalive).toEqual({
      timeMs: 20_000,
      timeoutMs: 5_000,
      maxConnectionIdleMs: 600_000,
      maxConnectionAgeMs: 3_600_000,
    });
  });

  it('reports every problem with its path, never echoing a token', () => {
    const { problems } = parse({
      listen: 'collector:80',
      tls: { keyFile: 3, requireClientCert: true, ciphers: 'x' },
      maxMessageBytes: 10,
      maxEnvelopesPerBatch: 1.5,
      tokens: ['short-secret', 7],
      tokenFile: '',
      keepalive: { time: 'soon', interval: '1s' },
      port: 7443,
    });
    expect(problems).toEqual([
      'ingest.port: is not a known ingest setting',
      'ingest.listen: host "collector" must be an IP address or "localhost"',
      'ingest.tls.ciphers: is not a known tls setting',
      'ingest.tls.certFile: is required when tls is set',
      'ingest.tls.keyFile: must be a file path',
      'ingest.tls.requireClientCert: needs clientCaFile to verify client certificates against',
      'ingest.maxMessageBytes: must be an integer from 1024 to 268435456',
      'ingest.maxEnvelopesPerBatch: must be an integer from 1 to 1000000',
      'ingest.tokens[0]: must be a string of at least 16 characters without whitespace',
      'ingest.tokens[1]: must be a string of at least 16 characters without whitespace',
      'ingest.tokenFile: must be a file path',
      'ingest.keepalive.interval: is not a known keepalive setting',
      'ingest.keepalive.time: must be a duration like "30s" or "5m" of at least 1000 ms',
    ]);
    expect(problems.join('\n')).not.toContain('short-secret');
  });

  it('refuses plaintext on a reachable address unless TLS is set or insecure is allowed', () => {
    expect(parse({ listen: '0.0.0.0:7443' }).problems).toEqual([
      'ingest.listen: refusing plaintext gRPC on non-loopback address 0.0.0.0:7443: configure tls (certFile, keyFile) or set allowInsecure: true',
    ]);
    expect(parse({ listen: '0.0.0.0:7443', allowInsecure: true }).problems).toEqual([]);
    expect(parse({ listen: '10.0.0.5:7443', tls: { certFile: 'c', keyFile: 'k' } }).problems).toEqual([]);
    expect(parse({ listen: '127.0.0.42:7443' }).problems).toEqual([]);
    expect(parse({ listen: 'localhost:0' }).problems).toEqual([]);
  });
});

describe('listen addresses', () => {
  it('parses IPv4, bracketed IPv6 and localhost, and says what is wrong otherwise', () => {
    expect(parseListenAddress('127.0.0.1:7443')).toEqual({ host: '127.0.0.1', port: 7443 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListenAddress('::1:7443')).toBe('must be "host:port" (IPv6 as "[::1]:7443")');
    expect(parseListenAddress('127.0.0.1:70000')).toBe('port 70000 is out of range');
    expect(parseListenAddress('[127.0.0.1]:1')).toBe('"[127.0.0.1]" is not an IPv6 address');
  });

  it('knows loopback from reachable hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});
