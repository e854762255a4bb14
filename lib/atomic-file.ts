/**
 * Replacing a file so that a crash or kill -9 leaves either the old or the new content,
 * never a mix: write a temporary file, fsync it, rename it over the target, fsync the
 * directory (without that, the rename itself may not survive a power loss).
 */
import { open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Atomically replaces `path` with what `write` writes to the handle it is given. */
export async function replaceFile(path: string, write: (fh: FileHandle) => Promise<void>, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await write(fh);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
