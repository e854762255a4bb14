import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../../../collector/policy/glob.js';

describe('compileGlob', () => {
  it('matches * within one segment only', () => {
    const g = compileGlob('/var/log/*.log');
    expect(g('/var/log/app.log')).toBe(true);
    expect(g('/var/log/nginx/access.log')).toBe(false);
  });

  it('matches ** across segments, including the directory itself', () => {
    const g = compileGlob('/etc/**');
    expect(g('/etc/passwd')).toBe(true);
    expect(g('/etc/ssh/sshd_config')).toBe(true);
    expect(g('/etc')).toBe(true);
    expect(g('/etcetera/x')).toBe(false);
  });

  it('lets a/**/b stand for zero or more segments', () => {
    const g = compileGlob('/srv/**/cache/*');
    expect(g('/srv/cache/x')).toBe(true);
    expect(g('/srv/a/b/cache/x')).toBe(true);
    expect(g('/srv/a/b/cache/x/y')).toBe(false);
  });

  it('matches workload keys segment by segment', () => {
    const g = compileGlob('prod/payments/*/api/*');
    expect(g('prod/payments/Deployment/api/api')).toBe(true);
    expect(g('prod/billing/Deployment/api/api')).toBe(false);
    expect(compileGlob('prod/**')('prod/payments/Deployment/api/api')).toBe(true);
  });

  it('treats regex metacharacters literally and a plain pattern as equality', () => {
    expect(compileGlob('/a+b/(c).txt')('/a+b/(c).txt')).toBe(true);
    expect(compileGlob('/a+b/(c).txt')('/aab/c.txt')).toBe(false);
    expect(compileGlob('/usr/bin/?url')('/usr/bin/curl')).toBe(true);
  });
});
