/**
 * Typed readers for one config object: each reads a key, reports a problem with its full
 * path when the value is wrong, and returns the default so parsing goes on and every
 * problem is listed in one pass.
 */
import type { Problems } from '../lib/config-problems.js';
import { parseDuration } from '../lib/duration.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Bytes in a size: a bare number, or "512KiB", "64MiB", "1GiB", "10MB". */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : undefined;
}

/** Reads keys of one object at `path`, remembering which keys were read. */
export class ConfigReader {
  private readonly seen = new Set<string>();
  private readonly obj: Record<string, unknown>;
  private readonly absent: boolean;

  constructor(
    raw: unknown,
    readonly path: string,
    private readonly problems: Problems,
  ) {
    this.absent = raw === undefined;
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
      problems.add(path || '(root)', 'must be an object');
      this.obj = {};
    } else {
      this.obj = (raw ?? {}) as Record<string, unknown>;
    }
  }

  /** The object was not given at all (as opposed to given empty). */
  isAbsent(): boolean {
    return this.absent;
  }

  private at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  private get(key: string): unknown {
    this.seen.add(key);
    return this.obj[key];
  }

  /** A nested object's reader (an absent key reads as an empty object). */
  child(key: string): ConfigReader {
    return new ConfigReader(this.get(key), this.at(key), this.problems);
  }

  string(key: string, def: string, opts: { nonEmpty?: boolean; pattern?: RegExp; hint?: string } = {}): string {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'string') return this.bad(key, 'must be a string', def);
    if (opts.nonEmpty && v === '') return this.bad(key, 'must not be empty', def);
    if (opts.pattern && !opts.pattern.test(v)) return this.bad(key, opts.hint ?? `must match ${opts.pattern}`, def);
    return v;
  }

  optionalString(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') return this.bad(key, 'must be a non-empty string', undefined);
    return v;
  }

  boolean(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return def;
    return typeof v === 'boolean' ? v : this.bad(key, 'must be true or false', def);
  }

  integer(key: string, def: number, min: number, max: number): number {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return this.bad(key, `must be an integer from ${min} to ${max}`, def);
    }
    return v;
  }

  /** Milliseconds from "250ms", "30s", "5m" or a number of ms. */
  duration(key: string, def: number, minMs: number, maxMs: number): number {
    const v = this.get(key);
    if (v === undefined) return def;
    const ms = parseDuration(v);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      return this.bad(key, `must be a duration ("500ms", "30s", "5m") from ${minMs}ms to ${maxMs}ms`, def);
    }
    return ms;
  }

  /** Bytes from "64MiB", "512KiB" or a number. */
  size(key: string, def: number, min: number, max: number): number {
    const v = this.get(key);
    if (v === undefined) return def;
    const n = parseSize(v);
    if (n === undefined || n < min || n > max) {
      return this.bad(key, `must be a size ("512KiB", "64MiB") from ${min} to ${max} bytes`, def);
    }
    return n;
  }

  /** Accepts `key` without reading it: another module's parser owns that sub-section. */
  owned(key: string): void {
    this.seen.add(key);
  }

  /** Reports keys present in the object that no reader asked for (typos, stale options). */
  rejectUnknown(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) this.problems.add(this.at(key), 'is not a known option');
    }
  }

  /** Records a problem at `key` and returns the fallback. */
  bad<T>(key: string, message: string, fallback: T): T {
    this.problems.add(this.at(key), message);
    return fallback;
  }
}
