import { describe, expect, it } from 'vitest';
import { egressKey, generalisePath, listenKey, portKey } from '../../../../collector/profiles/generalise.js';

describe('generalisePath', () => {
  it.each([
    ['/proc/1234/status', '/proc/*/status'],
    ['/proc/98765/task/98766/comm', '/proc/*/task/*/comm'],
    ['/proc/self/fd/3', '/proc/self/fd/*'],
    ['/var/lib/kubelet/pods/0f8fad5b-d9cb-469f-a165-70867728950e/volumes', '/var/lib/kubelet/pods/*/volumes'],
    [
      '/var/lib/docker/containers/4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b/config.json',
      '/var/lib/docker/containers/*/config.json',
    ],
    [
      '/run/secrets/kubernetes.io/serviceaccount/..2024_01_01_12_00_00.123456789/token',
      '/run/secrets/kubernetes.io/serviceaccount/..*/token',
    ],
    ['/var/lib/postgresql/data/base/16384/2619', '/var/lib/postgresql/data/base/*/*'],
    ['/var/cache/nginx/client_temp/0000000001', '/var/cache/nginx/client_temp/*'],
    ['/var/log/app/core.12345', '/var/log/app/core.*'],
    ['/var/run/app-7f9c2d1e.sock', '/var/run/app-*.sock'],
    ['/home/app/.cache/babel-loader/aGVsbG8gd29ybGQgdGhpcyBpcyBi.json', '/home/app/.cache/babel-loader/*.json'],
    ['/data/uploads/Zm9vYmFyYmF6cXV4MTIzNDU2', '/data/uploads/*'],
  ])('generalises ids and random tokens: %s', (raw, want) => {
    expect(generalisePath(raw)).toBe(want);
  });

  it.each([
    ['/tmp/tmp.X8a9ZkQ2', '/tmp/tmp.*'],
    ['/tmp/tmpa8f_3kzq', '/tmp/tmp*'],
    ['/tmp/sedAbC123', '/tmp/sed*'],
    ['/etc/nginx/.nginx.conf.swp', '/etc/nginx/.*.swp'],
    ['/srv/app/.settings.yaml.swx', '/srv/app/.*.swx'],
    ['/etc/nginx/nginx.conf~', '/etc/nginx/*~'],
  ])('turns temp-file names into patterns: %s', (raw, want) => {
    expect(generalisePath(raw)).toBe(want);
  });

  it.each([
    '/usr/lib/x86_64-linux-gnu/libssl.so.3',
    '/usr/bin/python3.11',
    '/opt/app/v1.2.3/bin/server',
    '/app/config/application.properties',
    '/app/Log4jConfig.xml',
    '/etc/ssl/certs/ca-certificates.crt',
    '/usr/local/bin/docker-entrypoint.sh',
    '/tmp/.X11-unix/X0',
    '/var/log/nginx/access.log',
  ])('keeps meaningful names: %s', (raw) => {
    expect(generalisePath(raw)).toBe(raw);
  });

  it('is idempotent, so a stored key looked up as a raw path finds itself', () => {
    for (const raw of [
      '/proc/1234/status',
      '/tmp/tmp.X8a9ZkQ2',
      '/etc/nginx/.nginx.conf.swp',
      '/etc/nginx/nginx.conf~',
      '/tmp/sedAbC123',
      '/var/log/app/core.12345',
      '/run/secrets/kubernetes.io/serviceaccount/..2024_01_01_12_00_00.123456789/token',
      '/var/run/app-7f9c2d1e.sock',
      '/tmp/tmpa8f_3kzq',
    ]) {
      const once = generalisePath(raw);
      expect(generalisePath(once)).toBe(once);
    }
  });

  it('produces the same key for the same file in different runs', () => {
    expect(generalisePath('/proc/41/cmdline')).toBe(generalisePath('/proc/5012/cmdline'));
    expect(generalisePath('/tmp/tmp.Qz81kLm0pA')).toBe(generalisePath('/tmp/tmp.X8a9ZkQ2'));
  });
});

describe('ports and peers', () => {
  it('keys ephemeral ports as "ephemeral" from 32768 by default, or a configured start', () => {
    expect(portKey(8080)).toBe('8080');
    expect(portKey(32767)).toBe('32767');
    expect(portKey(32768)).toBe('ephemeral');
    expect(portKey(49152, 50000)).toBe('49152');
    expect(listenKey('udp', 41000)).toBe('udp/ephemeral');
    expect(egressKey('prod/db/StatefulSet/pg/pg', 'tcp', 5432)).toBe('prod/db/StatefulSet/pg/pg:tcp/5432');
  });
});
