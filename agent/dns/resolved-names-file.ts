/**
 * The retained DNS answers, saved when the agent stops and read when it starts, so that
 * an agent restart (a DaemonSet rollout) does not strip names from connects that reuse an
 * address resolved before it: those would be keyed by address and alert. The file lives
 * in the spool directory, which survives the agent's pod.
 *
 * Only valid within one boot of the node: cgroup ids and network namespace cookies count
 * up from the start again after a reboot, so a saved answer could land on an unrelated
 * container. The file carries the kernel's boot id, and one from another boot is ignored.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { replaceFile } from '../../lib/atomic-file.js';
import { isDnsName } from '../../proto/codec.js';
import type { ResolvedNameEntry } from './resolved-names.js';

const VERSION = 1;
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

async function bootId(): Promise<string> {
  return (await readFile(BOOT_ID_FILE, 'utf8')).trim();
}

export type LoadedNames =
  { readonly ok: true; readonly entries: ResolvedNameEntry[] } | { readonly ok: false; readonly error: string };

/** The saved answers; a missing file is an empty list, an unreadable one an error saying why. */
export async function loadResolvedNames(path: string): Promise<LoadedNames> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, entries: [] };
    return { ok: false, error: (err as Error).message };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const d = doc as { version?: unknown; bootId?: unknown; entries?: unknown };
  if (d?.version !== VERSION || !Array.isArray(d.entries)) return { ok: false, error: `not a version ${VERSION} file` };
  // Not an error: the node rebooted since, and nothing saved then still applies.
  if (d.bootId !== (await bootId())) return { ok: true, entries: [] };
  const entries: ResolvedNameEntry[] = [];
  for (const e of d.entries as Record<string, unknown>[]) {
    if (
      Number.isSafeInteger(e?.cgroupId) &&
      Number.isSafeInteger(e.netns) &&
      typeof e.address === 'string' &&
      isIP(e.address) !== 0 &&
      typeof e.name === 'string' &&
      e.name !== '' &&
      isDnsName(e.name) &&
      Number.isFinite(e.expiresAtMs)
    )
      entries.push(e as unknown as ResolvedNameEntry);
    else return { ok: false, error: 'an entry lacks cgroupId, netns, an address, a hostname or expiresAtMs' };
  }
  return { ok: true, entries };
}

/** Replaces the file atomically (a crash leaves the old one or the new one). */
export async function saveResolvedNames(path: string, entries: readonly ResolvedNameEntry[]): Promise<void> {
  // The spool directory is made by the gRPC transport; an agent that prints has none yet.
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const doc = { version: VERSION, bootId: await bootId(), entries };
  await replaceFile(path, (fh) => fh.writeFile(JSON.stringify(doc)));
}
