import { fork } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileProfileStore, profileFileName } from '../../../../collector/profiles/file-profile-store.js';
import { profileFromJson } from '../../../../collector/profiles/profile-json.js';
import { createProfile, toSnapshot } from '../../../../collector/profiles/profile.js';
import { learnItem } from '../../../../collector/profiles/learning.js';
import { silentLogger } from '../../../../lib/logger.js';
import { API, API_KEY } from '../detect/events.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tripline-profiles-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function snapshot() {
  const p = createProfile(API, API_KEY, 1000);
  learnItem(p, 'exec', '/usr/local/bin/api', 1100, 'pod-1', 'sha256:aaaa', false);
  learnItem(p, 'egress', 'prod/db/StatefulSet/pg/pg:tcp/5432', 1200, 'pod-1', 'sha256:aaaa', false);
  return toSnapshot(p);
}

describe('createFileProfileStore', () => {
  it('round-trips profiles, one file per profile named by slug and hash', async () => {
    const store = createFileProfileStore({ dir, log: silentLogger() });
    const s = snapshot();
    await store.save([s]);
    expect(await readdir(dir)).toEqual([profileFileName(API_KEY)]);
    expect(profileFileName(API_KEY)).toMatch(/^prod_payments_Deployment_api_api-[0-9a-f]{16}\.json$/);
    expect(await store.loadAll()).toEqual([s]);
    await store.remove(API_KEY);
    await store.remove(API_KEY);
    expect(await store.loadAll()).toEqual([]);
  });

  it('keeps keys that slug alike apart', () => {
    expect(profileFileName('a/b/c/d/e')).not.toBe(profileFileName('a_b/c/d/e'));
    expect(profileFileName('local//cgroup/../../etc/passwd/')).not.toContain('/');
  });

  it('quarantines a corrupt file with a metric and still loads the rest', async () => {
    const registry = new Registry();
    const store = createFileProfileStore({ dir, log: silentLogger(), registry });
    await store.save([snapshot()]);
    await writeFile(join(dir, 'broken-0000000000000000.json'), '{"version":1,"profile":{"key":');
    await writeFile(join(dir, profileFileName('x/y/z/w/v') + '.tmp-1-1'), 'partial');
    const loaded = await store.loadAll();
    expect(loaded.map((p) => p.key)).toEqual([API_KEY]);
    expect(await readdir(join(dir, 'quarantine'))).toHaveLength(1);
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const metric = await registry.getSingleMetric('tripline_collector_profile_store_quarantined_total')!.get();
    expect(metric.values[0]!.value).toBe(1);
  });

  it('rejects a well-formed file whose contents are not a valid profile', () => {
    expect(profileFromJson(JSON.stringify({ version: 1, profile: { ...snapshot(), state: 'bogus' } })).ok).toBe(false);
    expect(profileFromJson(JSON.stringify({ version: 1, profile: { ...snapshot(), key: 'other' } })).ok).toBe(false);
    expect(profileFromJson(JSON.stringify({ version: 1, profile: snapshot() })).ok).toBe(true);
  });

  it('leaves every file parseable after kill -9 in the middle of writes', async () => {
    const writer = fileURLToPath(new URL('./store-writer.ts', import.meta.url));
    for (let round = 0; round < 3; round++) {
      const child = fork(writer, [dir, '20'], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          child.on('message', (m) => m === 'written' && resolve());
          child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
        });
        // Let it run into the middle of further rounds of writes before the kill.
        await new Promise((r) => setTimeout(r, 50 + round * 40));
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) =>
          child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r),
        );
      }
      const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
      expect(names).toHaveLength(20);
      for (const n of names) expect(profileFromJson(await readFile(join(dir, n), 'utf8')).ok).toBe(true);
    }
    const store = createFileProfileStore({ dir, log: silentLogger() });
    expect(await store.loadAll()).toHaveLength(20);
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  }, 60_000);
});
