/**
 * ProfileStore in a data directory, one JSON file per profile. Each save writes a temp
 * file, fsyncs it, renames it over the old one and fsyncs the directory, so after a
 * crash or kill -9 every profile file is either the old or the new version, never torn.
 * A file that does not parse is moved to quarantine/ and reported: one bad file must
 * not keep the collector from starting.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { ProfileSnapshot } from '../../proto/profile.js';
import { profileFromJson, profileToJson } from './profile-json.js';
import type { ProfileStore } from './profile-store.js';

export interface FileProfileStoreOptions {
  /** Data directory; created when missing. */
  readonly dir: string;
  readonly log: Logger;
  /** Receives tripline_collector_profile_store_* metrics when given. */
  readonly registry?: Registry;
}

const SUFFIX = '.json';
const TMP_MARK = '.tmp-';
const QUARANTINE = 'quarantine';
// Parallel file writes per save: enough to hide fsync latency, few enough not to starve the event loop.
const WRITE_CONCURRENCY = 8;

/** File name of a profile: readable slug plus a hash, so distinct keys never collide. */
export function profileFileName(key: string): string {
  const slug = key
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${slug}-${hash}${SUFFIX}`;
}

export function createFileProfileStore(opts: FileProfileStoreOptions): ProfileStore {
  const { dir } = opts;
  const log = opts.log.child({ component: 'file-profile-store' });
  const quarantined = new Counter({
    name: 'tripline_collector_profile_store_quarantined_total',
    help: 'Profile files that did not parse and were moved to quarantine/',
    registers: opts.registry ? [opts.registry] : [],
  });
  const writeFailures = new Counter({
    name: 'tripline_collector_profile_store_write_failures_total',
    help: 'Profile writes that failed',
    registers: opts.registry ? [opts.registry] : [],
  });
  let ready: Promise<void> | undefined;
  let tmpCounter = 0;
  const ensureDir = (): Promise<void> => (ready ??= mkdir(dir, { recursive: true }).then(() => undefined));

  async function writeAtomic(p: ProfileSnapshot): Promise<void> {
    const final = join(dir, profileFileName(p.key));
    const tmp = `${final}${TMP_MARK}${process.pid}-${tmpCounter++}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(profileToJson(p));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, final);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async function syncDir(): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async function quarantine(name: string, error: string): Promise<void> {
    quarantined.inc();
    log.warn({ file: name, error }, 'profile file is corrupt; moved to quarantine');
    await mkdir(join(dir, QUARANTINE), { recursive: true });
    await rename(join(dir, name), join(dir, QUARANTINE, `${name}.${Date.now()}`)).catch((err: unknown) =>
      log.error({ err, file: name }, 'could not quarantine corrupt profile file'),
    );
  }

  return {
    async loadAll(): Promise<ProfileSnapshot[]> {
      await ensureDir();
      const out: ProfileSnapshot[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const name = entry.name;
        if (name.includes(TMP_MARK)) {
          // A write interrupted before its rename: the previous version is still in place.
          await unlink(join(dir, name)).catch(() => undefined);
          continue;
        }
        if (!name.endsWith(SUFFIX)) continue;
        let text: string;
        try {
          text = await readFile(join(dir, name), 'utf8');
        } catch (err) {
          await quarantine(name, (err as Error).message);
          continue;
        }
        const parsed = profileFromJson(text);
        if (!parsed.ok) await quarantine(name, parsed.error);
        else if (profileFileName(parsed.profile.key) !== name)
          await quarantine(name, 'file name does not match the profile key');
        else out.push(parsed.profile);
      }
      return out;
    },

    async save(profiles: readonly ProfileSnapshot[]): Promise<void> {
      if (profiles.length === 0) return;
      await ensureDir();
      let next = 0;
      const errors: unknown[] = [];
      const worker = async (): Promise<void> => {
        while (next < profiles.length) {
          const p = profiles[next++]!;
          await writeAtomic(p).catch((err: unknown) => {
            writeFailures.inc();
            errors.push(err);
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, profiles.length) }, worker));
      await syncDir();
      if (errors.length)
        throw new AggregateError(errors, `${errors.length} of ${profiles.length} profiles were not saved`);
    },

    async remove(key: string): Promise<void> {
      await ensureDir();
      try {
        await unlink(join(dir, profileFileName(key)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      await syncDir();
    },

    watch(): () => void {
      // Nothing but this process edits the data directory.
      return () => undefined;
    },

    async close(): Promise<void> {},
  };
}
