import { describe, expect, it } from 'vitest';
import { generaliseDnsName } from '../../../../collector/profiles/dns-name.js';

describe('generaliseDnsName', () => {
  const examples: [string, string][] = [
    ['api.stripe.com', 'api.stripe.com'],
    ['d3k4l2m9x8q1w0.cloudfront.net', '*.cloudfront.net'],
    ['ec2-3-91-4-17.compute-1.amazonaws.com', '*.compute-1.amazonaws.com'],
    ['storage.googleapis.com', 'storage.googleapis.com'],
    ['7f3a9c2e-1b4d-4e8a-9f0c-2d6b8e1a4c3f.blob.core.windows.net', '*.blob.core.windows.net'],
    ['www.google.com', 'www.google.com'],
    ['mirror.1.example.org', 'mirror.*.example.org'],
    ['3-91-4-17.static.example.net', '*.static.example.net'],
    ['ip-10-0-1-5.eu-west-1.compute.internal', '*.eu-west-1.compute.internal'],
    ['my-lb-1234567890.us-west-2.elb.amazonaws.com', '*.us-west-2.elb.amazonaws.com'],
    ['e3b0c44298fc.execute-api.us-east-1.amazonaws.com', '*.execute-api.us-east-1.amazonaws.com'],
    ['r3---sn-4g5e6nz7.googlevideo.com', '*.googlevideo.com'],
    ['s3.us-east-1.amazonaws.com', 's3.us-east-1.amazonaws.com'],
    ['registry-1.docker.io', 'registry-1.docker.io'],
    ['pkg-containers.githubusercontent.com', 'pkg-containers.githubusercontent.com'],
    ['x1.c.lencr.org', 'x1.c.lencr.org'],
  ];

  it.each(examples)('%s → %s', (raw, want) => {
    expect(generaliseDnsName(raw)).toBe(want);
  });

  it('always keeps the last two labels, however they look', () => {
    expect(generaliseDnsName('1234.d3k4l2m9x8q1w0.net')).toBe('*.d3k4l2m9x8q1w0.net');
    expect(generaliseDnsName('10-0-0-1.io')).toBe('10-0-0-1.io');
    expect(generaliseDnsName('7.7.7.7')).toBe('*.*.7.7');
    expect(generaliseDnsName('localhost')).toBe('localhost');
  });

  it('is idempotent', () => {
    const more = ['*.*.7.7', 'a.*.b.c', '1.2.3.4.nip.io', 'node-7f9c2d1e8a.pool.ntp.org', ''];
    for (const raw of [...examples.map(([r]) => r), ...more]) {
      const once = generaliseDnsName(raw);
      expect(generaliseDnsName(once), raw).toBe(once);
    }
    for (const [, want] of examples) expect(generaliseDnsName(want)).toBe(want);
  });
});
