/**
 * The dead-letter file: incidents a sink gave up on (a 'failure' result, or retries
 * exhausted), one JSON object per line with the sink, the error and the incident in its
 * public JSON form, so an operator can inspect and re-send them. Bounded: past
 * `maxBytes` the file is rotated to `<name>.1` (one generation kept).
 */
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../../lib/logger.js';
import type { Incident } from '../../../proto/incident.js';
import { incidentJson } from '../formats/incident-json.js';

export interface DeadLetterEntry {
  readonly sink: string;
  readonly error: string;
  readonly attempts: number;
  readonly incidents: readonly Incident[];
}

export interface DeadLetterFile {
  /** The current generation's path; the previous one is `<path>.1`. */
  readonly path: string;
  /** Appends and fsyncs; resolves false (and logs) when the file cannot be written. */
  write(entry: DeadLetterEntry): Promise<boolean>;
  /**
   * Runs `fn` between writes with the file closed, so `fn` may read both generations and
   * replace them (a resend); the next write reopens whatever file is then at `path`.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createDeadLetterFile(
  path: string,
  maxBytes: number,
  log: Logger,
  now: () => number = Date.now,
): DeadLetterFile {
  let fh: FileHandle | undefined;
  let size = 0;
  let chain: Promise<unknown> = Promise.resolve();

  async function handle(): Promise<FileHandle> {
    if (!fh) {
      fh = await open(path, 'a', 0o600);
      size = (await stat(path)).size;
    }
    return fh;
  }

  async function writeNow(entry: DeadLetterEntry): Promise<boolean> {
    const time = new Date(now()).toISOString();
    const text = entry.incidents
      .map(
        (i) =>
          JSON.stringify({
            time,
            sink: entry.sink,
            error: entry.error,
            attempts: entry.attempts,
            incident: incidentJson(i),
          }) + '\n',
      )
      .join('');
    try {
      let f = await handle();
      if (size > 0 && size + Buffer.byteLength(text) > maxBytes) {
        await f.close();
        fh = undefined;
        await rename(path, `${path}.1`);
        f = await handle();
      }
      await f.write(text);
      await f.sync();
      size += Buffer.byteLength(text);
      return true;
    } catch (err) {
      log.error(
        { err, sink: entry.sink, incidents: entry.incidents.length },
        'could not write the dead-letter file; incidents lost',
      );
      return false;
    }
  }

  return {
    path,
    write(entry) {
      const p = chain.then(() => writeNow(entry));
      chain = p;
      return p;
    },
    exclusive(fn) {
      const p = chain.then(async () => {
        // Close first: a replaced file is a new inode, and appends through the old handle
        // would land in the unlinked file and be lost.
        const open = fh;
        fh = undefined;
        await open?.close();
        return fn();
      });
      chain = p.catch(() => undefined);
      return p;
    },
    async close() {
      await chain;
      await fh?.close();
      fh = undefined;
    },
  };
}
