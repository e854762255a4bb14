import { describe, expect, it } from 'vitest';
import { Problems } from '../../../../lib/config-problems.js';
import { parseEnrichConfig } from '../../../../collector/enrich/enrich-config.js';
import { createStaticEnricher } from '../../../../collector/enrich/static-enricher.js';
import type { Enricher, PeerIdentity } from '../../../../collector/enrich/enriched-event.js';
import type { PeerDirectory } from '../../../../collector/enrich/peer-directory.js';
import { parsePolicyConfig } from '../../../../collector/policy/policy-config.js';
import { createStaticPolicySource } from '../../../../collector/policy/static-policy-source.js';
import { API, API_KEY, connect, exec } from '../detect/events.js';

function enricher(rawEnrich: unknown, peers?: PeerDirectory, rawPolicy: unknown = { defaultTier: 'internal' }) {
  const problems = new Problems();
  const config = parseEnrichConfig(rawEnrich, problems);
  const policies = createStaticPolicySource(parsePolicyConfig(rawPolicy, problems));
  expect(problems.all).toEqual([]);
  return createStaticEnricher({ config, policies, ...(peers ? { peers } : {}) });
}

/** Who `ip` is to the test workload, which looked it up as `dnsName` ('' = did not). */
function peer(e: Enricher, ip: string, dnsName = ''): PeerIdentity {
  return e.peer(ip, e.workload(connect(ip, 443))!, dnsName);
}

describe('parseEnrichConfig', () => {
  it('accepts networks as a mapping or a list and sorts them most specific first', () => {
    const problems = new Problems();
    const a = parseEnrichConfig(
      { networks: { '10.0.0.0/8': 'internal', '10.1.2.0/24': 'restricted', '2001:db8::/32': 'confidential' } },
      problems,
    );
    const b = parseEnrichConfig({ networks: [{ cidr: '10.0.0.0/8', tier: 'internal' }] }, problems);
    expect(problems.all).toEqual([]);
    expect(a.networks.map((n) => n.cidr.text)).toEqual(['2001:db8::/32', '10.1.2.0/24', '10.0.0.0/8']);
    expect(b.networks).toHaveLength(1);
  });

  it('reports every malformed entry', () => {
    const problems = new Problems();
    parseEnrichConfig(
      {
        networks: { '10.0.0.0/33': 'public', 'not-an-ip/8': 'internal', '192.0.2.0/24': 'top-secret' },
        workloadTiers: [{ match: '', tier: 'x' }],
        extra: true,
      },
      problems,
    );
    expect(problems.all).toHaveLength(6);
    expect(problems.all.join('\n')).toContain('enrich.networks["10.0.0.0/33"]');
    expect(problems.all.join('\n')).toContain('enrich.workloadTiers[0].tier');
    expect(problems.all.join('\n')).toContain('enrich.extra');
  });
});

describe('createStaticEnricher', () => {
  it('takes the workload tier from the first matching rule, else the policy default', () => {
    const e = enricher({
      workloadTiers: [
        { match: 'prod/payments/**', tier: 'restricted' },
        { match: 'prod/**', tier: 'confidential' },
      ],
    });
    const a = e.workload(exec('/bin/true'))!;
    expect(a.workloadKey).toBe(API_KEY);
    expect(a.tier).toBe('restricted');
    const web = { ...API, namespace: 'web' };
    expect(e.workload(exec('/bin/true', { workload: web, cgroupId: 7 }))!.tier).toBe('confidential');
    const dev = { ...API, cluster: 'dev' };
    expect(e.workload(exec('/bin/true', { workload: dev, cgroupId: 8 }))!.tier).toBe('internal');
  });

  it('does not enrich events without a workload', () => {
    const e = enricher({});
    const ev = exec('/bin/true');
    ev.container.workload = undefined;
    expect(e.workload(ev)).toBeUndefined();
  });

  it('resolves peers: cluster directory, then the most specific configured network, else public internet', () => {
    const directory: PeerDirectory = {
      lookup: (ip) =>
        ip === '10.244.1.7' ? { workloadKey: 'prod/db/StatefulSet/pg/pg', tier: 'restricted' } : undefined,
    };
    const e = enricher(
      {
        networks: {
          '10.0.0.0/8': 'internal',
          '10.9.0.0/16': 'confidential',
          '127.0.0.99/32': 'public',
          'fd00:ec2::/32': 'internal',
        },
      },
      directory,
    );
    expect(peer(e, '10.244.1.7')).toEqual({
      kind: 'workload',
      id: 'prod/db/StatefulSet/pg/pg',
      tier: 'restricted',
    });
    expect(peer(e, '10.9.3.4')).toEqual({
      kind: 'external',
      id: '10.9.0.0/16',
      tier: 'confidential',
    });
    expect(peer(e, '10.3.3.4')).toEqual({ kind: 'external', id: '10.0.0.0/8', tier: 'internal' });
    expect(peer(e, '127.0.0.99')).toEqual({
      kind: 'external',
      id: '127.0.0.99/32',
      tier: 'public',
    });
    expect(peer(e, '::ffff:127.0.0.99').id).toBe('127.0.0.99/32');
    expect(peer(e, 'fd00:ec2::254')).toEqual({
      kind: 'external',
      id: 'fd00:ec2::/32',
      tier: 'internal',
    });
    expect(peer(e, '203.0.113.9')).toEqual({
      kind: 'external',
      id: '203.0.113.9',
      tier: 'public',
    });
    expect(peer(e, '2001:db8::1')).toEqual({
      kind: 'external',
      id: '2001:db8::1',
      tier: 'public',
    });
  });

  it('treats unconfigured loopback as the workload itself', () => {
    const e = enricher({ workloadTiers: [{ match: '**', tier: 'restricted' }] });
    expect(peer(e, '127.0.0.1')).toEqual({ kind: 'workload', id: API_KEY, tier: 'restricted' });
    expect(peer(e, '::1').id).toBe(API_KEY);
    expect(peer(e, '127.0.0.1', 'localhost.example.com').id).toBe(API_KEY);
  });

  it('names an external peer by its generalised DNS name, keeping the tier of its address', () => {
    const directory: PeerDirectory = {
      lookup: (ip) =>
        ip === '10.244.1.7' ? { workloadKey: 'prod/db/StatefulSet/pg/pg', tier: 'restricted' } : undefined,
    };
    const e = enricher({ networks: { '10.9.0.0/16': 'confidential' } }, directory);
    expect(peer(e, '203.0.113.9', 'api.stripe.com')).toEqual({
      kind: 'external',
      id: 'api.stripe.com',
      tier: 'public',
    });
    // Rotating addresses and per-edge names under one owner's domain are one peer.
    expect(peer(e, '198.51.100.4', 'a1b2c3d4e5f6.cdn.example.com').id).toBe('*.cdn.example.com');
    expect(peer(e, '198.51.100.5', 'f6e5d4c3b2a1.cdn.example.com').id).toBe('*.cdn.example.com');
    // Never across owners: a CloudFront distribution is one customer's.
    expect(peer(e, '198.51.100.6', 'd3k4l2m9x8q1w0.cloudfront.net').id).toBe('d3k4l2m9x8q1w0.cloudfront.net');
    // A name does not move an address out of its configured network's tier.
    expect(peer(e, '10.9.3.4', 'vault.corp.example')).toEqual({
      kind: 'external',
      id: 'vault.corp.example',
      tier: 'confidential',
    });
    // In-cluster addresses stay workloads whatever name the lookup used.
    expect(peer(e, '10.244.1.7', 'pg.db.svc.cluster.local').id).toBe('prod/db/StatefulSet/pg/pg');
    // The same name seen through different networks keeps each address's tier.
    expect(peer(e, '10.9.3.5', 'api.stripe.com').tier).toBe('confidential');
    expect(peer(e, '203.0.113.10', 'api.stripe.com').tier).toBe('public');
  });
});
