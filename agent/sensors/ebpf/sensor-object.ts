/**
 * Loads the sensor's BPF object on whatever kernel this is. A BPF object loads as a
 * whole, so everything a kernel may refuse is retried without: an optional program the
 * verifier refused is left out, and the DNS programs are tried in each variant
 * (dns-namespace-source.ts) before the sensor loads without them. What was left out is
 * returned as blind spots.
 */
import type { Logger } from 'pino';
import { loadBpfObject, type BpfObjectOptions, type LoadedBpfObject } from './bpf-object.js';
import { DNS_PROGRAMS, type DnsNamespaceSource } from './dns-namespace-source.js';
import type { Libbpf } from './libbpf.js';

/** libbpf's message for a program the kernel refused to load. */
export const REFUSED_PROGRAM = /prog '([^']+)': failed to load/;

export interface SensorObjectOptions extends Omit<
  BpfObjectOptions,
  'cgroupRoot' | 'cgroupPrograms' | 'leftOut' | 'log'
> {
  /** Where the DNS programs attach; undefined loads none. */
  readonly dnsCgroupRoot: string | undefined;
  /** DNS variants to try, in order. */
  readonly dnsSources: readonly DnsNamespaceSource[];
  /**
   * Names of programs libbpf reported refused (REFUSED_PROGRAM in its messages), filled by
   * the caller's print callback; cleared before each attempt.
   */
  readonly refused: Set<string>;
  readonly log: Logger;
}

export function loadSensorObject(
  lib: Libbpf,
  opts: SensorObjectOptions,
): { object: LoadedBpfObject; blindSpots: string[] } {
  const { dnsCgroupRoot, dnsSources, refused, log, ...objectOptions } = opts;
  const blindSpots: string[] = [];
  const leftOut = new Set<string>();

  const load = (cgroupRoot: string | undefined, cgroupPrograms: ReadonlySet<string>): LoadedBpfObject => {
    for (;;) {
      refused.clear();
      try {
        return loadBpfObject(lib, { ...objectOptions, log, leftOut, cgroupRoot, cgroupPrograms });
      } catch (err) {
        // libbpf names the program the verifier refused; for other failures (a
        // relocation, a map) it may name none, and then every optional program is left
        // out once before the failure counts.
        const named = refused.size > 0;
        const optional = (named ? [...refused] : [...opts.optionalPrograms]).filter(
          (name) => opts.optionalPrograms.has(name) && !leftOut.has(name),
        );
        if (optional.length === 0 || (named && optional.length < refused.size)) throw err;
        const why = named
          ? 'the kernel refused it (the verifier log is logged at debug level)'
          : `the object did not load with it: ${message(err)}`;
        for (const name of optional) {
          leftOut.add(name);
          blindSpots.push(`${name} not loaded: ${why}`);
          log.warn({ program: name, err }, 'optional BPF program not loaded; loading without it');
        }
      }
    }
  };

  // Names are an enrichment: a kernel or a cgroup root that refuses the DNS programs must
  // not cost every other observation.
  const refusals: string[] = [];
  for (const source of dnsSources) {
    let object: LoadedBpfObject;
    try {
      object = load(dnsCgroupRoot, DNS_PROGRAMS[source]);
    } catch (err) {
      refusals.push(`${source}: ${message(err)}`);
      log.warn({ err, cgroupRoot: dnsCgroupRoot, namespaceSource: source }, 'DNS answer programs not loaded');
      continue;
    }
    log.info({ namespaceSource: source }, 'DNS answer programs loaded');
    blindSpots.push(
      'DNS names come from UDP answers of the trusted resolvers only (not DNS over TCP, TLS or HTTPS, and not answers cut at 1232 bytes)',
    );
    if (source === 'socket')
      blindSpots.push(
        'DNS answers to UDP sockets created before the agent started name nothing (this kernel cannot tell their network namespace)',
      );
    return { object, blindSpots };
  }
  if (refusals.length > 0)
    blindSpots.push(`DNS names are not read (${refusals.join('; ')}): external peers are reported by address only`);
  return { object: load(undefined, new Set()), blindSpots };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
