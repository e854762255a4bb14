import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadResolvedNames, saveResolvedNames } from '../../../../agent/dns/resolved-names-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-names-'));
  dirs.push(dir);
  return join(dir, 'dns-names.json');
}

describe('resolved names file', () => {
  it('round-trips entries, and a missing file is no entries', async () => {
    const path = join(file(), '..', 'spool', 'dns-names.json');
    expect(await loadResolvedNames(path)).toEqual({ ok: true, entries: [] });
    const entries = [
      { cgroupId: 7, netns: 4026531840, address: '2001:db8::7', name: 'api.stripe.com', expiresAtMs: 1 },
    ];
    await saveResolvedNames(path, entries);
    expect(await loadResolvedNames(path)).toEqual({ ok: true, entries });
  });

  it('says why a file cannot be used instead of throwing', async () => {
    const path = file();
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(path, JSON.stringify({ version: 1, bootId, entries: [{ cgroupId: '7' }] }));
    expect(await loadResolvedNames(path)).toEqual({
      ok: false,
      error: 'an entry lacks cgroupId, netns, an address, a hostname or expiresAtMs',
    });
    const bad = { cgroupId: 7, netns: 1, address: '198.51.100.7', name: 'a/b', expiresAtMs: 1 };
    writeFileSync(path, JSON.stringify({ version: 1, bootId, entries: [bad] }));
    expect(await loadResolvedNames(path)).toMatchObject({ ok: false });
    writeFileSync(path, '{"version":2,"entries":[]}');
    expect(await loadResolvedNames(path)).toEqual({ ok: false, error: 'not a version 1 file' });
    writeFileSync(path, 'garbage');
    expect(await loadResolvedNames(path)).toMatchObject({ ok: false, error: expect.stringMatching(/^not JSON/) });
  });

  it('takes nothing saved in another boot of the node: cgroup ids and netns cookies start over', async () => {
    const path = file();
    const entry = { cgroupId: 7, netns: 1, address: '198.51.100.7', name: 'api.stripe.com', expiresAtMs: 1 };
    writeFileSync(path, JSON.stringify({ version: 1, bootId: 'an-earlier-boot', entries: [entry] }));
    expect(await loadResolvedNames(path)).toEqual({ ok: true, entries: [] });
  });
});
