/**
 * The CLI's view of a running collector: its HTTP API, with the token from --token,
 * TRIPLINE_API_TOKEN, --token-file, or the data directory's api-token file (written by
 * `tripline up` / `tripline collector`), in that order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ApiTarget {
  readonly url: string;
  readonly token: string;
}

export class CliError extends Error {}

export function resolveApiTarget(opts: {
  api?: string;
  token?: string;
  tokenFile?: string;
  dataDir: string;
}): ApiTarget {
  const url = (opts.api ?? process.env.TRIPLINE_API ?? 'http://127.0.0.1:7680').replace(/\/$/, '');
  const token =
    opts.token ?? process.env.TRIPLINE_API_TOKEN ?? readToken(opts.tokenFile ?? join(opts.dataDir, 'api-token'));
  return { url, token };
}

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new CliError(
      `no API token: ${file} is not readable (${(err as NodeJS.ErrnoException).code}); pass --token-file or set TRIPLINE_API_TOKEN`,
    );
  }
}

/** Calls the API; throws CliError with the server's message on a non-2xx answer. */
export async function callApi(target: ApiTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${target.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach the collector API at ${target.url}: ${(err as Error).cause ?? err}`);
  }
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const message = (parsed as { error?: string } | undefined)?.error ?? res.statusText;
    throw new CliError(`${method} ${path}: ${res.status} ${message}`);
  }
  return parsed;
}

export const profilePath = (key: string): string => `/api/v1/profiles/${encodeURIComponent(key)}`;
