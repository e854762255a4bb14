import { describe, expect, it } from 'vitest';
import { Problems } from '../../../../../lib/config-problems.js';
import { EBPF_SENSOR_DEFAULTS, parseEbpfSensorConfig } from '../../../../../agent/sensors/ebpf/ebpf-sensor-config.js';

describe('parseEbpfSensorConfig', () => {
  it('returns frozen defaults for a missing section', () => {
    const problems = new Problems();
    const config = parseEbpfSensorConfig(undefined, problems);
    expect(config).toEqual(EBPF_SENSOR_DEFAULTS);
    expect(Object.isFrozen(config)).toBe(true);
    expect(problems.all).toEqual([]);
  });

  it('reads every setting, durations as strings or milliseconds', () => {
    const problems = new Problems();
    const config = parseEbpfSensorConfig(
      {
        objectPath: '/opt/tripline/tripline.bpf.o',
        ringBufferBytes: 65536,
        peerCacheEntries: 1024,
        syscallFlushMs: '2s',
        dropPollMs: 250,
        mountTracefs: false,
        dnsNames: false,
        dnsResolvers: ['10.96.0.10', 'fd00:10:96::a'],
        dnsRetentionMs: '30m',
      },
      problems,
    );
    expect(problems.all).toEqual([]);
    expect(config).toEqual({
      objectPath: '/opt/tripline/tripline.bpf.o',
      ringBufferBytes: 65536,
      peerCacheEntries: 1024,
      syscallFlushMs: 2000,
      dropPollMs: 250,
      mountTracefs: false,
      dnsNames: false,
      dnsResolvers: ['10.96.0.10', 'fd00:10:96::a'],
      dnsRetentionMs: 1_800_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every problem with its path', () => {
    const problems = new Problems();
    parseEbpfSensorConfig(
      {
        objectPath: '',
        ringBufferBytes: 5000,
        peerCacheEntries: 1.5,
        syscallFlushMs: 'soon',
        dropPollMs: 1,
        mountTracefs: 'yes',
        dnsNames: 1,
        dnsResolvers: ['10.96.0.10', 'kube-dns', 53],
        dnsRetentionMs: '2d',
        ringbuffer: 1,
      },
      problems,
      'agent.sensor.ebpf',
    );
    expect(problems.all).toEqual([
      'agent.sensor.ebpf.ringbuffer: unknown setting',
      'agent.sensor.ebpf.objectPath: must be a non-empty path',
      'agent.sensor.ebpf.ringBufferBytes: must be a power of two between 4096 and 1 GiB, got 5000',
      'agent.sensor.ebpf.peerCacheEntries: must be an integer between 64 and 16777216, got 1.5',
      'agent.sensor.ebpf.syscallFlushMs: must be a duration between 10ms and 1h ("500ms", "2s"), got soon',
      'agent.sensor.ebpf.dropPollMs: must be a duration between 10ms and 1h ("500ms", "2s"), got 1',
      'agent.sensor.ebpf.mountTracefs: must be true or false',
      'agent.sensor.ebpf.dnsNames: must be true or false',
      'agent.sensor.ebpf.dnsResolvers: not IP addresses: kube-dns, 53',
      'agent.sensor.ebpf.dnsRetentionMs: must be a duration up to 24h ("10m"), got 2d',
    ]);
  });

  it('rejects a non-object section', () => {
    const problems = new Problems();
    expect(parseEbpfSensorConfig([1], problems)).toEqual(EBPF_SENSOR_DEFAULTS);
    expect(problems.all).toEqual(['sensor.ebpf: must be an object']);
  });
});
