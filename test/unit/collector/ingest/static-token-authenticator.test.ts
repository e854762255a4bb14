import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createStaticTokenAuthenticator,
  parseTokenFile,
} from '../../../../collector/ingest/static-token-authenticator.js';

const TOKEN_A = 'token-a-0123456789abcdef';
const TOKEN_B = 'token-b-0123456789abcdef-longer';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tripline-tokens-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('static token authenticator', () => {
  it('accepts configured tokens with a non-secret identity and tells missing from invalid', async () => {
    const auth = createStaticTokenAuthenticator([TOKEN_A, TOKEN_B]);
    const a = await auth.authenticate(TOKEN_A);
    const b = await auth.authenticate(TOKEN_B);
    expect(a).toEqual({ ok: true, identity: expect.stringMatching(/^static-token:[0-9a-f]{8}$/) });
    expect(b.ok && a.ok && b.identity !== a.identity).toBe(true);
    expect(JSON.stringify(a)).not.toContain(TOKEN_A);
    expect(await auth.authenticate(`${TOKEN_A}x`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await auth.authenticate(TOKEN_A.slice(0, -1))).toEqual({ ok: false, reason: 'invalid' });
    expect(await auth.authenticate('')).toEqual({ ok: false, reason: 'missing' });
    expect(await auth.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
  });

  it('reads a token file and follows rotation without a restart', async () => {
    const path = join(dir, 'tokens');
    writeFileSync(path, `# agents\n${TOKEN_A}\n\n`);
    const auth = createStaticTokenAuthenticator([], { tokenFile: path });
    expect((await auth.authenticate(TOKEN_A)).ok).toBe(true);
    expect(await auth.authenticate(TOKEN_B)).toEqual({ ok: false, reason: 'invalid' });

    writeFileSync(path, `${TOKEN_B}\n`);
    expect((await auth.authenticate(TOKEN_B)).ok).toBe(true);
    expect(await auth.authenticate(TOKEN_A)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('answers unavailable while the token file cannot be read, so agents retry', async () => {
    const path = join(dir, 'not-yet');
    const auth = createStaticTokenAuthenticator([TOKEN_A], { tokenFile: path });
    expect((await auth.authenticate(TOKEN_A)).ok).toBe(true);
    expect(await auth.authenticate(TOKEN_B)).toEqual({ ok: false, reason: 'unavailable' });
    writeFileSync(path, TOKEN_B);
    expect((await auth.authenticate(TOKEN_B)).ok).toBe(true);
  });

  it('refuses to be created with nothing to compare against', () => {
    expect(() => createStaticTokenAuthenticator([])).toThrow(/at least one token or a token file/);
  });

  it('parses token files: one per line, comments and blank lines ignored', () => {
    expect(parseTokenFile(' a \r\n# note\n\nb\n')).toEqual(['a', 'b']);
  });
});
