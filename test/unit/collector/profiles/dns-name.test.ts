import { getDomain } from 'tldts';
import { describe, expect, it } from 'vitest';
import { generaliseDnsName } from '../../../../collector/profiles/dns-name.js';

describe('generaliseDnsName', () => {
  const examples: [string, string][] = [
    ['api.stripe.com', 'api.stripe.com'],
    ['www.google.com', 'www.google.com'],
    ['storage.googleapis.com', 'storage.googleapis.com'],
    ['registry-1.docker.io', 'registry-1.docker.io'],
    ['pkg-containers.githubusercontent.com', 'pkg-containers.githubusercontent.com'],
    ['x1.c.lencr.org', 'x1.c.lencr.org'],
    // Varying labels left of the owner's registrable domain.
    ['a1b2c3d4e5f6.cdn.example.com', '*.cdn.example.com'],
    ['mirror.1.example.org', 'mirror.*.example.org'],
    ['3-91-4-17.static.example.net', '*.static.example.net'],
    ['r3---sn-4g5e6nz7.googlevideo.com', '*.googlevideo.com'],
    // The registrable label under a public suffix names one customer: kept, however it looks.
    ['mybucket-2023.s3.amazonaws.com', 'mybucket-2023.s3.amazonaws.com'],
    ['evil-12345678.co.uk', 'evil-12345678.co.uk'],
    ['d3k4l2m9x8q1w0.cloudfront.net', 'd3k4l2m9x8q1w0.cloudfront.net'],
    [
      '7f3a9c2e-1b4d-4e8a-9f0c-2d6b8e1a4c3f.blob.core.windows.net',
      '7f3a9c2e-1b4d-4e8a-9f0c-2d6b8e1a4c3f.blob.core.windows.net',
    ],
    ['my-lb-1234567890.us-west-2.elb.amazonaws.com', 'my-lb-1234567890.us-west-2.elb.amazonaws.com'],
    ['e3b0c44298fc.execute-api.us-east-1.amazonaws.com', 'e3b0c44298fc.execute-api.us-east-1.amazonaws.com'],
    ['12345.shop-7f3a9c2e.herokuapp.com', '*.shop-7f3a9c2e.herokuapp.com'],
    // Itself a public suffix (a wildcard rule: one customer's instance) or a provider endpoint.
    ['ec2-3-91-4-17.compute-1.amazonaws.com', 'ec2-3-91-4-17.compute-1.amazonaws.com'],
    ['s3.us-east-1.amazonaws.com', 's3.us-east-1.amazonaws.com'],
    // Names that spell an address: anyone's server.
    ['1-2-3-4.nip.io', '1-2-3-4.nip.io'],
    ['1.2.3.4.nip.io', '1.2.3.4.nip.io'],
    ['10-0-0-1.sslip.io', '10-0-0-1.sslip.io'],
    // No known suffix: the last two labels are kept.
    ['ip-10-0-1-5.ec2.internal', '*.ec2.internal'],
    ['ip-10-0-1-5.eu-west-1.compute.internal', '*.eu-west-1.compute.internal'],
    ['web-0.web.prod.svc.cluster.local', 'web-0.web.prod.svc.cluster.local'],
    ['1700000000.jobs.build.test', '*.jobs.build.test'],
  ];

  it.each(examples)('%s → %s', (raw, want) => {
    expect(generaliseDnsName(raw)).toBe(want);
  });

  it('never generalises into the registrable domain', () => {
    const psl = { allowPrivateDomains: true };
    for (const [raw, want] of examples) {
      const domain = getDomain(raw, psl);
      if (domain !== null) expect(want.endsWith(domain), raw).toBe(true);
    }
  });

  it('keeps the registrable label however it looks, and short names whole', () => {
    expect(generaliseDnsName('1234.d3k4l2m9x8q1w0.net')).toBe('*.d3k4l2m9x8q1w0.net');
    expect(generaliseDnsName('10-0-0-1.io')).toBe('10-0-0-1.io');
    expect(generaliseDnsName('7.7.7.7')).toBe('*.*.7.7');
    expect(generaliseDnsName('localhost')).toBe('localhost');
    expect(generaliseDnsName('co.uk')).toBe('co.uk');
    expect(generaliseDnsName('_sip._tcp.1234.example.com')).toBe('_sip._tcp.*.example.com');
  });

  it('is idempotent, also for keys generalised before the Public Suffix List', () => {
    const more = [
      '*.*.7.7',
      'a.*.b.c',
      '*.cdn.example.com',
      '*.cloudfront.net',
      '*.s3.amazonaws.com',
      '*.compute-1.amazonaws.com',
      '*.nip.io',
      '*.co.uk',
      'node-7f9c2d1e8a.pool.ntp.org',
      '',
    ];
    for (const raw of [...examples.map(([r]) => r), ...more]) {
      const once = generaliseDnsName(raw);
      expect(generaliseDnsName(once), raw).toBe(once);
    }
    for (const [, want] of examples) expect(generaliseDnsName(want)).toBe(want);
    for (const old of more.slice(0, -2)) expect(generaliseDnsName(old), old).toBe(old);
  });
});
