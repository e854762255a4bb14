/**
 * One observation that must fire each rule and one that must not, through the whole
 * analysis stage with a stable profile learned from realistic baseline events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, exec, file, listen, syscalls, API, API_KEY } from './events.js';
import { harness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.analyzer.stop();
  h = undefined;
});

const BASELINE = [
  exec('/usr/local/bin/api'),
  exec('/bin/sh'),
  syscalls(['read', 'write', 'openat', 'epoll_wait', 'futex']),
  file('/var/log/api/app.log'),
  file('/tmp/tmp.X8a9ZkQ2'),
  listen(8080),
  connect('10.244.1.7', 5432),
];
const DB = {
  lookup: (ip: string) =>
    ip === '10.244.1.7' ? { workloadKey: 'prod/db/StatefulSet/pg/pg', tier: 'internal' as const } : undefined,
};
const ENRICH = { networks: { '127.0.0.99/32': 'public', '10.50.0.0/16': 'restricted' } };

async function stable(policy: Record<string, unknown> = {}): Promise<Harness> {
  h = await harness({ policy, enrich: ENRICH, peers: DB });
  await h.learn(...BASELINE);
  // Policy rules may fire while learning (e.g. a restricted default tier reaching the db).
  h.findings.length = 0;
  return h;
}

function rules(x: Harness): string[] {
  return x.findings.map((f) => f.rule);
}

describe('unexpected-exec', () => {
  it('fires for an executable not in the profile, with MITRE ids and the generalised key', async () => {
    const x = await stable();
    await x.apply(exec('/usr/bin/curl'));
    expect(rules(x)).toEqual(['unexpected-exec']);
    const f = x.findings[0]!;
    expect(f).toMatchObject({
      severity: 'high',
      key: '/usr/bin/curl',
      workloadKey: 'prod/payments/Deployment/api/api',
      mitreTechniques: ['T1059', 'T1204'],
    });
  });
  it('does not fire for a learned executable', async () => {
    const x = await stable();
    await x.apply(exec('/bin/sh'));
    expect(x.findings).toEqual([]);
  });
});

/** An exec the agent marked as of a file its container wrote (agent/pipeline/written-files.ts). */
function dropped(exe: string) {
  return { ...exec(exe), writtenByContainer: true };
}

describe('dropped-binary-exec', () => {
  it('fires when the agent marks an exec as of a file the container wrote, instead of unexpected-exec', async () => {
    const x = await stable();
    await x.apply(file('/tmp/x'), dropped('/tmp/x'));
    expect(rules(x)).toEqual(['unexpected-file-write', 'dropped-binary-exec']);
    expect(x.findings[1]!.severity).toBe('critical');
    expect(x.findings[1]!.event.kind === 'exec' && x.findings[1]!.event.writtenByContainer).toBe(true);
  });
  it('stays silent for an approved dropped binary', async () => {
    const x = await stable();
    await x.analyzer.approve(API_KEY, 'exec', '/opt/plugins/loader');
    await x.apply(dropped('/opt/plugins/loader'));
    expect(rules(x)).toEqual([]);
  });
  it('does not fire for a binary that came with the image', async () => {
    const x = await stable();
    await x.apply(exec('/usr/bin/curl'));
    expect(rules(x)).not.toContain('dropped-binary-exec');
  });
  it('fires during learning at reduced score', async () => {
    h = await harness({});
    await h.apply(file('/tmp/payload'), dropped('/tmp/payload'));
    const f = h.findings.find((x) => x.rule === 'dropped-binary-exec')!;
    expect(f.context).toContain('learning');
    expect(f.severity).toBe('high');
  });
});

describe('unexpected-syscall', () => {
  it('fires for a new syscall, raised to high for a dangerous one', async () => {
    const x = await stable();
    await x.apply(syscalls(['read', 'getrandom', 'unshare']));
    expect(x.findings.map((f) => [f.key, f.severity])).toEqual([
      ['getrandom', 'medium'],
      ['unshare', 'high'],
    ]);
  });
  it('does not fire for learned syscalls', async () => {
    const x = await stable();
    await x.apply(syscalls(['futex', 'read']));
    expect(x.findings).toEqual([]);
  });
});

describe('protected-path-write', () => {
  it('fires for a write under a protected path', async () => {
    const x = await stable();
    await x.apply(file('/etc/ld.so.preload'));
    expect(rules(x)).toEqual(['protected-path-write']);
    expect(x.findings[0]!.context).toContain('protected-path');
  });
  it('fires for renaming a protected file away, and uses policy globs', async () => {
    const x = await stable({ protectedPaths: ['/srv/keys/**'] });
    await x.apply(file('/tmp/k', undefined, 'rename', '/srv/keys/signing.pem'));
    expect(rules(x)).toEqual(['protected-path-write']);
    x.findings.length = 0;
    await x.apply(file('/etc/hosts'));
    expect(rules(x)).toEqual(['unexpected-file-write']);
  });
  it('does not fire outside protected paths', async () => {
    const x = await stable();
    await x.apply(file('/var/log/api/app.log'));
    expect(x.findings).toEqual([]);
  });
});

describe('unexpected-file-write', () => {
  it('fires for a path pattern not in the profile', async () => {
    const x = await stable();
    await x.apply(file('/var/www/html/shell.php'));
    expect(rules(x)).toEqual(['unexpected-file-write']);
    expect(x.findings[0]!.severity).toBe('low');
  });
  it('does not fire for a new name matching a learned pattern', async () => {
    const x = await stable();
    await x.apply(file('/tmp/tmp.Qz81kLm0pA'));
    expect(x.findings).toEqual([]);
  });
});

describe('new-listener', () => {
  it('fires for a port not in the profile', async () => {
    const x = await stable();
    await x.apply(listen(4444));
    expect(x.findings.map((f) => [f.rule, f.key, f.severity])).toEqual([['new-listener', 'tcp/4444', 'high']]);
  });
  it('does not fire for a learned port', async () => {
    const x = await stable();
    await x.apply(listen(8080));
    expect(x.findings).toEqual([]);
  });
});

describe('unexpected-egress', () => {
  it('fires for a peer not in the profile', async () => {
    const x = await stable();
    await x.apply(connect('10.244.1.7', 6379));
    expect(x.findings.map((f) => [f.rule, f.key])).toEqual([
      ['unexpected-egress', 'prod/db/StatefulSet/pg/pg:tcp/6379'],
    ]);
  });
  it('does not fire for a learned peer', async () => {
    const x = await stable();
    await x.apply(connect('10.244.1.7', 5432));
    expect(x.findings).toEqual([]);
  });
  it('knows an external peer learned by DNS name at any address, and tells names apart', async () => {
    // A public workload: no tier is crossed, so only novelty can fire.
    h = await harness({ policy: { defaultTier: 'public' }, enrich: ENRICH, peers: DB });
    await h.learn(...BASELINE, connect('203.0.113.9', 443, undefined, 'tcp', 'api.stripe.com'));
    h.findings.length = 0;
    await h.apply(connect('198.51.100.20', 443, undefined, 'tcp', 'api.stripe.com'));
    expect(h.findings).toEqual([]);
    await h.apply(connect('198.51.100.20', 443, undefined, 'tcp', 'pastebin.example'));
    await h.apply(connect('198.51.100.21', 443));
    expect(h.findings.map((f) => [f.rule, f.key, f.summary])).toEqual([
      [
        'unexpected-egress',
        'pastebin.example:tcp/443',
        `${API_KEY} connected to pastebin.example at 198.51.100.20 (tcp/443), which is not in its profile`,
      ],
      [
        'unexpected-egress',
        '198.51.100.21:tcp/443',
        `${API_KEY} connected to 198.51.100.21 (tcp/443), which is not in its profile`,
      ],
    ]);
  });
});

describe('cross-sensitivity-flow', () => {
  it('fires critical when a restricted workload talks to the internet', async () => {
    const x = await stable({ defaultTier: 'restricted' });
    await x.apply(connect('127.0.0.99', 443));
    const f = x.findings.find((y) => y.rule === 'cross-sensitivity-flow')!;
    expect(f.severity).toBe('critical');
    expect(f.key).toBe('127.0.0.99/32:tcp/443');
    expect(f.context).toEqual(expect.arrayContaining(['flow:down', 'peer:external']));
  });
  it('fires high when a lower tier reaches into a higher one', async () => {
    const x = await stable({ defaultTier: 'internal' });
    await x.apply(connect('10.50.3.3', 443));
    const f = x.findings.find((y) => y.rule === 'cross-sensitivity-flow')!;
    expect(f.severity).toBe('high');
    expect(f.context).toContain('flow:up');
  });
  it('does not fire within a tier or for a flow policy allows', async () => {
    const x = await stable({ defaultTier: 'internal' });
    await x.apply(connect('10.244.1.7', 5432));
    expect(x.findings).toEqual([]);
    const y = await stable({
      defaultTier: 'internal',
      allowedFlows: [{ from: 'prod/payments/**', to: '127.0.0.99/32' }],
    });
    await y.apply(connect('127.0.0.99', 443));
    expect(rules(y)).toEqual(['unexpected-egress']);
  });
  it('fires during learning too, with the learning context', async () => {
    h = await harness({ policy: { defaultTier: 'restricted' }, enrich: ENRICH });
    await h.apply(connect('127.0.0.99', 443));
    expect(h.findings.map((f) => [f.rule, f.context.includes('learning')])).toEqual([['cross-sensitivity-flow', true]]);
  });
});

describe('context and policy', () => {
  it('raises the score for a privileged container and a restricted tier', async () => {
    const x = await stable({ defaultTier: 'restricted' });
    await x.apply(listen(4444, { privileged: true }));
    expect(x.findings[0]!.severity).toBe('critical');
    expect(x.findings[0]!.context).toEqual(expect.arrayContaining(['privileged', 'tier:restricted']));
  });
  it('applies a per-rule severity override', async () => {
    const x = await stable({ severityOverrides: { 'new-listener': 'info' } });
    await x.apply(listen(4444));
    expect(x.findings[0]!.severity).toBe('info');
  });
  it('silences a matching exception until it expires', async () => {
    const x = await stable({
      exceptions: [
        {
          rule: 'unexpected-exec',
          workload: 'prod/**',
          key: '/usr/bin/*',
          reason: 'debug session',
          expires: new Date(1_000_000 + 20_000).toISOString(),
        },
      ],
    });
    await x.apply(exec('/usr/bin/curl'));
    expect(x.findings).toEqual([]);
    x.now.ms += 10_000;
    await x.apply(exec('/usr/bin/curl'));
    expect(rules(x)).toEqual(['unexpected-exec']);
  });
  it('never alerts in learn mode', async () => {
    const x = await stable({ mode: 'learn', defaultTier: 'restricted' });
    await x.apply(exec('/usr/bin/curl'), file('/etc/passwd'), connect('127.0.0.99', 443), listen(4444));
    expect(x.findings).toEqual([]);
    expect(
      x.analyzer.getProfile('prod/payments/Deployment/api/api')!.items.some((i) => i.key === '/usr/bin/curl'),
    ).toBe(true);
  });
  it('stays silent for novel items while learning', async () => {
    h = await harness({});
    await h.apply(exec('/usr/bin/curl'), listen(4444), syscalls(['ptrace']), file('/var/www/x'));
    expect(h.findings).toEqual([]);
    expect(h.analyzer.getProfile('prod/payments/Deployment/api/api')!.state).toBe('learning');
    expect(API.name).toBe('api');
  });
});
