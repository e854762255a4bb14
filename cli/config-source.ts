/**
 * Where configuration comes from: a YAML file (optional) with environment overrides on
 * top. An override names a path with double underscores, e.g.
 * TRIPLINE__ingest__listen=0.0.0.0:7443 or TRIPLINE__policy__learning__stableFor=30s;
 * its value is read as YAML, so numbers, booleans and lists keep their types.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../lib/config-problems.js';

const ENV_PREFIX = 'TRIPLINE__';

export type RawConfig = Record<string, unknown>;

function isObject(v: unknown): v is RawConfig {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The raw config tree: file (when given) then environment overrides. Throws ConfigError. */
export function loadRawConfig(file: string | undefined, env: NodeJS.ProcessEnv): RawConfig {
  let root: RawConfig = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`${file}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? err}`]);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError([`${file}: not valid YAML: ${(err as Error).message}`]);
    }
    if (parsed !== null && parsed !== undefined && !isObject(parsed)) {
      throw new ConfigError([`${file}: the top level must be a mapping`]);
    }
    root = (parsed as RawConfig | null) ?? {};
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__');
    if (path.some((p) => p === '')) {
      problems.push(`${name}: empty path segment`);
      continue;
    }
    let node = root;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      if (next === undefined) node[segment] = {};
      else if (!isObject(next)) {
        problems.push(`${name}: ${segment} is not a mapping in the config`);
        node = {};
        break;
      }
      node = node[segment] as RawConfig;
    }
    let parsedValue: unknown;
    try {
      parsedValue = parseYaml(value);
    } catch {
      parsedValue = value;
    }
    node[path[path.length - 1]!] = parsedValue;
  }
  if (problems.length) throw new ConfigError(problems);
  return root;
}

/** Sub-tree at `key`, or {} when absent; a non-mapping is a problem. */
export function section(
  raw: RawConfig,
  key: string,
  problems: { add(path: string, message: string): void },
): RawConfig {
  const v = raw[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) {
    problems.add(key, 'must be a mapping');
    return {};
  }
  return v;
}
