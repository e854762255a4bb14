/**
 * Small state files (cursors, the incident snapshot) replaced atomically: write a
 * temporary file, fsync it, rename over the old one, fsync the directory. A crash leaves
 * either the old or the new file, never a mix.
 */
import { readFileSync, writeFileSync, openSync, fsyncSync, closeSync, renameSync } from 'node:fs';
import { replaceFile } from '../../../lib/atomic-file.js';
import { dirname } from 'node:path';
import { fsyncDir } from './outbox-segments.js';

export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await replaceFile(path, (fh) => fh.writeFile(JSON.stringify(value)));
}

export function writeJsonFileSync(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** The parsed file, undefined when it does not exist; throws when it exists but is not JSON. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as unknown;
}
