import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWebhookSinkConfig } from '../../../../collector/sinks/webhook/webhook-config.js';
import { signWebhook, verifyWebhook } from '../../../../collector/sinks/webhook/webhook-signature.js';
import { parseIncidentPipelineConfig } from '../../../../collector/incidents/incident-pipeline-config.js';
import { Problems } from '../../../../lib/config-problems.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('webhook config', () => {
  it('reads a full config with defaults and the secret from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-secret-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'secret'), 'sixteen-chars-or-more\n');
    const problems = new Problems();
    const c = parseWebhookSinkConfig(
      {
        id: 'soc',
        type: 'webhook',
        url: 'https://soc.example/hook',
        hmacSecretFile: join(dir, 'secret'),
        headers: { Authorization: 'Bearer x' },
      },
      'sinks[0]',
      problems,
    );
    expect(problems.all).toEqual([]);
    expect(c).toMatchObject({ batch: true, maxBatch: 100, timeoutMs: 10_000, minSeverity: 'low' });
    expect(c.hmacSecret).toBe('sixteen-chars-or-more');
    expect(JSON.stringify(c)).not.toContain('sixteen-chars');
    expect(Object.isFrozen(c)).toBe(true);
    expect(
      parseWebhookSinkConfig({ id: 'one', type: 'webhook', url: 'http://127.0.0.1/', batch: false }, 's', problems)
        .maxBatch,
    ).toBe(1);
  });

  it('lists every problem with its path, and never the secret', () => {
    const problems = new Problems();
    parseWebhookSinkConfig(
      {
        id: 'Bad Id',
        type: 'webhook',
        url: 'ftp://x',
        hmacSecret: 'short-secret',
        headers: { 'X-Tripline-Signature': 'forged', 'Bad Header': 'x', Ok: 'two\nlines' },
        timeout: 'soon',
        batch: 'yes',
      },
      'sinks[3]',
      problems,
    );
    expect(problems.all).toEqual([
      'sinks[3].batch: must be true or false',
      'sinks[3].id: must be a lowercase name of letters, digits and dashes (≤ 63)',
      'sinks[3].url: must be an http(s) URL',
      'sinks[3].headers.X-Tripline-Signature: is set by the sink and cannot be configured',
      'sinks[3].headers.Bad Header: is not a valid header name',
      'sinks[3].headers.Ok: must be a one-line string',
      'sinks[3].timeout: must be a positive duration like "10s"',
      'sinks[3].hmacSecret: must be a string of at least 16 characters',
    ]);
    expect(problems.all.join('\n')).not.toContain('short-secret');
  });

  it('reports an unreadable secret file at start-up', () => {
    const problems = new Problems();
    parseWebhookSinkConfig(
      { id: 'soc', type: 'webhook', url: 'https://x/', hmacSecretFile: '/nonexistent/secret' },
      'sinks[0]',
      problems,
    );
    expect(problems.all).toEqual(['sinks[0].hmacSecretFile: cannot be read (ENOENT)']);
  });
});

describe('webhook signature', () => {
  const secret = 'a webhook signing secret';
  const body = '[{"id":"abc"}]';

  it('verifies a fresh signature and rejects a stale, altered or foreign one', () => {
    const sig = signWebhook(secret, '1764108855', body);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    const headers = { timestamp: '1764108855', signature: sig };
    expect(verifyWebhook(secret, headers, body, 1764108855 + 299)).toEqual({ ok: true });
    expect(verifyWebhook(secret, headers, body, 1764108855 + 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(secret, headers, body + ' ', 1764108855)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook('another secret value', headers, body, 1764108855)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook(secret, { timestamp: '1764108856', signature: sig }, body, 1764108855)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyWebhook(secret, { timestamp: undefined, signature: sig }, body)).toEqual({
      ok: false,
      reason: 'missing',
    });
  });

  it('accepts any one of several signatures during secret rotation', () => {
    const sig = `v1=${'0'.repeat(64)}, ${signWebhook(secret, '100', body)}`;
    expect(verifyWebhook(secret, { timestamp: '100', signature: sig }, body, 100)).toEqual({ ok: true });
  });
});

describe('incident pipeline config', () => {
  it('has defaults for everything', () => {
    const problems = new Problems();
    const c = parseIncidentPipelineConfig(undefined, problems);
    expect(problems.all).toEqual([]);
    expect(c).toMatchObject({
      windowMs: 3_600_000,
      maxOpen: 10_000,
      maxOpenPerWorkload: 500,
      outbox: { maxBytes: 256 * 2 ** 20, segmentBytes: 8 * 2 ** 20, whenFull: 'drop-oldest', fsyncIntervalMs: 5 },
      delivery: { defaults: { maxAttempts: 20, backoffInitialMs: 500, backoffMaxMs: 300_000, digestIntervalMs: 0 } },
    });
  });

  it('lists every problem with its path', () => {
    const problems = new Problems();
    const c = parseIncidentPipelineConfig(
      {
        window: 'forever',
        maxOpen: 10,
        maxOpenPerWorkload: 20,
        outbox: { maxBytes: '1MiB', segmentBytes: '512KiB', whenFull: 'panic' },
        delivery: { maxAttempts: 0, sinks: { soc: { digestInterval: '15m', backoffMax: '1ms' } } },
      },
      problems,
    );
    expect(problems.all).toEqual([
      'incidents.outbox.whenFull: must be drop-oldest or refuse-new',
      'incidents.outbox.segmentBytes: must be at most a quarter of maxBytes',
      'incidents.window: must be a duration like "5ms", "10s" or "1h" (at least 1000 ms)',
      'incidents.delivery.maxAttempts: must be an integer ≥ 1',
      'incidents.delivery.sinks.soc.backoffMax: must not be below backoffInitial',
      'incidents.maxOpenPerWorkload: must not exceed maxOpen',
    ]);
    expect(c.delivery.sinks.soc!.digestIntervalMs).toBe(900_000);
  });
});
