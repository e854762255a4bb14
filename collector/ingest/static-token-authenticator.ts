import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../../lib/logger.js';
import type { AgentAuthenticator, AgentAuthResult } from './agent-authenticator.js';

export interface StaticTokenOptions {
  /**
   * File with one token per line (blank lines and '#' comments ignored), e.g. a mounted
   * Secret. It is re-read when its size or mtime changes, so tokens rotate without a restart.
   */
  readonly tokenFile?: string;
  /** Told when the token file cannot be read (never the tokens). */
  readonly log?: Logger;
}

interface KnownToken {
  readonly digest: Buffer;
  /** Non-secret label for logs: a short prefix of the token's SHA-256. */
  readonly identity: string;
}

/**
 * Accepts agents presenting one of a fixed set of bearer tokens. Comparison runs over
 * SHA-256 digests with timingSafeEqual against every known token, so neither the
 * position of a mismatch nor the token lengths show in the response time.
 * Throws at creation when there is nothing to compare against.
 */
export function createStaticTokenAuthenticator(
  tokens: readonly string[],
  options: StaticTokenOptions = {},
): AgentAuthenticator {
  const inline = tokens.filter((t) => t !== '').map(known);
  const tokenFile = options.tokenFile;
  if (inline.length === 0 && tokenFile === undefined) {
    throw new Error('static token authentication needs at least one token or a token file');
  }
  let fileTokens: readonly KnownToken[] = [];
  let fileVersion = '';
  let lastFileError = '';
  const log = options.log?.child({ component: 'agent-auth' });

  /** The file's tokens, or undefined when it cannot be read right now. */
  async function loadFile(path: string): Promise<readonly KnownToken[] | undefined> {
    try {
      const st = await stat(path);
      const version = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (version !== fileVersion) {
        fileTokens = parseTokenFile(await readFile(path, 'utf8')).map(known);
        fileVersion = version;
      }
      lastFileError = '';
      return fileTokens;
    } catch (err) {
      const message = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (message !== lastFileError) log?.warn({ tokenFile: path, error: message }, 'agent token file cannot be read');
      lastFileError = message;
      return undefined;
    }
  }

  return {
    async authenticate(bearerToken: string | undefined): Promise<AgentAuthResult> {
      if (bearerToken === undefined || bearerToken === '') return { ok: false, reason: 'missing' };
      const presented = sha256(bearerToken);
      const match = findMatch(presented, inline);
      if (match) return { ok: true, identity: match.identity };
      if (tokenFile === undefined) return { ok: false, reason: 'invalid' };
      const fromFile = await loadFile(tokenFile);
      if (fromFile === undefined) return { ok: false, reason: 'unavailable' };
      const fileMatch = findMatch(presented, fromFile);
      return fileMatch ? { ok: true, identity: fileMatch.identity } : { ok: false, reason: 'invalid' };
    },
  };
}

/** Tokens in a token file: one per line, surrounding whitespace, blank lines and '#' comments ignored. */
export function parseTokenFile(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function known(token: string): KnownToken {
  const digest = sha256(token);
  return { digest, identity: `static-token:${digest.subarray(0, 4).toString('hex')}` };
}

function findMatch(presented: Buffer, candidates: readonly KnownToken[]): KnownToken | undefined {
  let found: KnownToken | undefined;
  // No early exit: the time taken must not say which (or whether an early) token matched.
  for (const c of candidates) {
    if (timingSafeEqual(presented, c.digest)) found ??= c;
  }
  return found;
}
