import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, Problems } from '../../../lib/config-problems.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { parseSize } from '../../../agent/config-values.js';

describe('parseAgentConfig', () => {
  it('fills every default from an empty section and freezes the result', () => {
    const problems = new Problems();
    const c = parseAgentConfig(undefined, problems);
    expect(problems.all).toEqual([]);
    expect(c.node).toBe(hostname());
    expect(c.cluster).toBe('local');
    expect(c.metricsListen).toBe('127.0.0.1:9464');
    expect(c.collector).toMatchObject({
      address: undefined,
      tls: undefined,
      maxInflightBatches: 64,
      initialBackoffMs: 500,
      maxBackoffMs: 30_000,
    });
    expect(c.spool).toMatchObject({ dir: '/var/lib/tripline/spool', maxBytes: 256 * 1024 * 1024 });
    expect(c.pipeline).toMatchObject({
      queueSize: 65_536,
      batchMaxEvents: 512,
      batchMaxDelayMs: 200,
      dedupTtlMs: 600_000,
      reportIntervalMs: 60_000,
    });
    expect(Object.isFrozen(c) && Object.isFrozen(c.pipeline) && Object.isFrozen(c.collector)).toBe(true);
  });

  it('reads units, TLS and token settings', () => {
    const problems = new Problems();
    const c = parseAgentConfig(
      {
        node: 'worker-3',
        collector: {
          address: 'collector.tripline.svc:4317',
          tokenFile: '/var/run/secrets/token',
          tls: { caFile: '/etc/tripline/ca.pem' },
          maxBackoff: '1m',
        },
        spool: { maxBytes: '1GiB', segmentBytes: '16MiB', fsyncInterval: '1s' },
        pipeline: { dedupTtl: '30s', batchMaxBytes: '512KiB' },
      },
      problems,
    );
    expect(problems.all).toEqual([]);
    expect(c.collector.tls).toEqual({
      caFile: '/etc/tripline/ca.pem',
      certFile: undefined,
      keyFile: undefined,
      serverName: undefined,
    });
    expect(c.collector.maxBackoffMs).toBe(60_000);
    expect(c.spool).toMatchObject({ maxBytes: 1024 ** 3, segmentBytes: 16 * 1024 ** 2, fsyncIntervalMs: 1000 });
    expect(c.pipeline).toMatchObject({ dedupTtlMs: 30_000, batchMaxBytes: 512 * 1024 });
  });

  it('lists every problem of a broken config, each with its path', () => {
    const problems = new Problems();
    parseAgentConfig(
      {
        node: 'Not A DNS Name',
        cluster: 7,
        colector: {},
        collector: {
          address: 'no-port',
          token: 'abc',
          tokenFile: '/t',
          tls: { certFile: '/c.pem' },
          initialBackoff: '10s',
          maxBackoff: '1s',
        },
        spool: { maxBytes: 'lots', segmentBytes: 1 },
        pipeline: { queueSize: 0, batchMaxDelay: '-1s', dedupSize: 1.5 },
        containers: { cgroupRoot: 'sys/fs/cgroup' },
        ringBufferBytes: 5000,
        metricsListen: ':9464',
      },
      problems,
    );
    const paths = problems.all.map((p) => p.slice(0, p.indexOf(':')));
    expect(paths.sort()).toEqual(
      [
        'agent.node',
        'agent.cluster',
        'agent.colector',
        'agent.collector.address',
        'agent.collector.tokenFile',
        'agent.collector.tls.keyFile',
        'agent.collector.maxBackoff',
        'agent.spool.maxBytes',
        'agent.spool.segmentBytes',
        'agent.pipeline.queueSize',
        'agent.pipeline.batchMaxDelay',
        'agent.pipeline.dedupSize',
        'agent.containers.cgroupRoot',
        'agent.ringBufferBytes',
        'agent.metricsListen',
      ].sort(),
    );
    expect(() => problems.throwIfAny()).toThrow(ConfigError);
    expect(problems.all.find((p) => p.startsWith('agent.colector'))).toContain('not a known option');
  });

  it('leaves agent.kubernetes to the pod resolver’s parser', () => {
    const problems = new Problems();
    parseAgentConfig({ kubernetes: { nodeName: 'n1' } }, problems);
    expect(problems.all).toEqual([]);
  });

  it('rejects a section that is not an object', () => {
    const problems = new Problems();
    parseAgentConfig({ pipeline: [1, 2] }, problems);
    expect(problems.all).toEqual(['agent.pipeline: must be an object']);
  });
});

describe('parseSize', () => {
  it.each([
    [4096, 4096],
    ['512KiB', 512 * 1024],
    ['10MB', 10_000_000],
    ['1.5GiB', 1.5 * 1024 ** 3],
  ])('%s → %d bytes', (v, n) => expect(parseSize(v)).toBe(n));
  it.each(['lots', '-1', '5 parsecs', -3, 1.5])('rejects %s', (v) => expect(parseSize(v)).toBeUndefined());
});
