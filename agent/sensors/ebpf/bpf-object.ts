/**
 * Opens, sizes, loads and attaches the sensor's BPF object, and undoes all of it. Every
 * failure path releases what was already created, so a failed start leaves nothing
 * attached in the kernel.
 */
import type { Logger } from 'pino';
import type { Handle, Libbpf } from './libbpf.js';

export interface BpfObjectOptions {
  readonly path: string;
  readonly ringBufferBytes: number;
  readonly peerCacheEntries: number;
  /** The agent's own tgid, filtered out in the kernel (0 keeps everything). */
  readonly selfTgid: number;
  /** Programs whose tracepoint may not exist on older kernels; failing to attach them is a blind spot. */
  readonly optionalPrograms: ReadonlySet<string>;
  /** Optional programs not to load at all (the kernel refused them before). */
  readonly leftOut?: ReadonlySet<string>;
  /**
   * The cgroup v2 root the cgroup programs (DNS answers) attach to, seeing every
   * container below it; undefined leaves them unloaded.
   */
  readonly cgroupRoot: string | undefined;
  /** The cgroup programs to load and attach there; the object's others stay unloaded. */
  readonly cgroupPrograms: ReadonlySet<string>;
  /**
   * Resolvers whose answers the DNS program reads: 16-byte keys (IPv4-mapped), and
   * whether the address is namespace-local (loopback), the only kind whose answers may
   * arrive on the loopback interface.
   */
  readonly dnsResolvers: readonly { readonly key: Uint8Array; readonly local: boolean }[];
  readonly log: Logger;
}

export interface LoadedBpfObject {
  /** Names of the attached programs. */
  readonly attached: readonly string[];
  /** Optional programs that could not be attached, with why. */
  readonly skipped: readonly { readonly name: string; readonly error: string }[];
  /** File descriptor of a map by name; throws if the object has no such map. */
  mapFd(name: string): number;
  /** Detaches every link and closes the object (programs and maps); safe twice. */
  destroy(): void;
  /**
   * Like destroy(), but detaches the links concurrently on libuv workers: each detach
   * waits for an RCU grace period, and concurrent detaches share them instead of
   * blocking the event loop for one grace period per program.
   */
  destroyAsync(): Promise<void>;
}

function describe(lib: Libbpf, rc: number): string {
  const errnum = rc < 0 ? -rc : lib.errno();
  return `${lib.strerror(errnum)} (errno ${errnum})`;
}

function maps(lib: Libbpf, obj: Handle): Map<string, Handle> {
  const out = new Map<string, Handle>();
  for (let m = lib.nextMap(obj, null); m; m = lib.nextMap(obj, m)) out.set(lib.mapName(m), m);
  return out;
}

/** Throws an Error naming the step and the kernel's reason when any required step fails. */
export function loadBpfObject(lib: Libbpf, opts: BpfObjectOptions): LoadedBpfObject {
  const obj = lib.openFile(opts.path);
  if (!obj) throw new Error(`cannot open BPF object ${opts.path}: ${describe(lib, -lib.errno())}`);
  const links: Handle[] = [];
  let destroyed = false;

  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    while (links.length) {
      const link = links.pop();
      if (link) lib.linkDestroy(link);
    }
    lib.close(obj);
  };

  const destroyAsync = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    const detaching = links.splice(0).map(
      (link) =>
        new Promise<void>((resolve) => {
          lib.linkDestroyAsync(link, (err) => {
            if (err) opts.log.warn({ err }, 'bpf_link__destroy failed');
            resolve();
          });
        }),
    );
    await Promise.all(detaching);
    lib.close(obj);
  };

  try {
    const byName = maps(lib, obj);
    const resize = (name: string, entries: number): void => {
      const m = byName.get(name);
      if (!m) throw new Error(`BPF object ${opts.path} has no map "${name}" (stale build? run npm run bpf)`);
      const rc = lib.mapSetMaxEntries(m, entries);
      if (rc < 0) throw new Error(`cannot size map ${name} to ${entries}: ${describe(lib, rc)}`);
    };
    resize('events', opts.ringBufferBytes);
    resize('seen_peers', opts.peerCacheEntries);

    // self_tgid is the only .rodata variable (offset 0); the verifier then prunes the
    // comparison to a constant.
    const rodata = [...byName].find(([name]) => name.endsWith('.rodata'))?.[1];
    const initial = rodata ? lib.mapInitialValue(rodata) : null;
    if (!initial || initial.byteLength < 4) throw new Error(`BPF object ${opts.path} has no self_tgid in .rodata`);
    new DataView(initial).setUint32(0, opts.selfTgid, true);

    const isCgroupProgram = (p: Handle): boolean => lib.programSection(p).startsWith('cgroup');
    // Alternatives for different kernels live in one object: a program the kernel would
    // refuse must not even be loaded, or the whole object fails.
    const wanted = new Set(opts.cgroupRoot === undefined ? [] : opts.cgroupPrograms);
    for (let p = lib.nextProgram(obj, null); p; p = lib.nextProgram(obj, p)) {
      const name = lib.programName(p);
      if (opts.leftOut?.has(name)) lib.programSetAutoload(p, false);
      else if (isCgroupProgram(p) && !wanted.delete(name)) lib.programSetAutoload(p, false);
    }
    if (wanted.size > 0)
      throw new Error(
        `BPF object ${opts.path} has no program ${[...wanted].map((n) => `"${n}"`).join(', ')} (stale build? run npm run bpf)`,
      );

    const rc = lib.load(obj);
    if (rc < 0) {
      throw new Error(
        `the kernel rejected BPF object ${opts.path}: ${describe(lib, rc)}; the verifier log is in the debug log`,
      );
    }

    if (opts.cgroupRoot !== undefined) {
      const resolvers = byName.get('dns_resolvers');
      if (!resolvers)
        throw new Error(`BPF object ${opts.path} has no map "dns_resolvers" (stale build? run npm run bpf)`);
      // TL_RESOLVER_REMOTE / TL_RESOLVER_LOCAL in agent/bpf/tripline.bpf.c.
      const remote = Uint8Array.of(1);
      const local = Uint8Array.of(2);
      for (const r of opts.dnsResolvers) {
        const rc = lib.updateElem(lib.mapFd(resolvers), r.key, r.local ? local : remote, 0);
        if (rc < 0) throw new Error(`cannot add a DNS resolver to the kernel's list: ${describe(lib, rc)}`);
      }
    }

    // Open only while attaching: a link holds its cgroup.
    const cgroupFd = opts.cgroupRoot === undefined ? -1 : lib.openDirectory(opts.cgroupRoot);
    if (opts.cgroupRoot !== undefined && cgroupFd < 0)
      throw new Error(`cannot open cgroup root ${opts.cgroupRoot}: ${describe(lib, -lib.errno())}`);
    const attached: string[] = [];
    const skipped: { name: string; error: string }[] = [];
    try {
      for (let p = lib.nextProgram(obj, null); p; p = lib.nextProgram(obj, p)) {
        const name = lib.programName(p);
        if (opts.leftOut?.has(name)) continue;
        const cgroupProgram = isCgroupProgram(p);
        if (cgroupProgram && (cgroupFd < 0 || !opts.cgroupPrograms.has(name))) continue;
        const link = cgroupProgram ? lib.attachCgroup(p, cgroupFd) : lib.attach(p);
        if (link) {
          links.push(link);
          attached.push(name);
          continue;
        }
        const error = `cannot attach ${name} (${lib.programSection(p)}): ${describe(lib, -lib.errno())}`;
        if (!opts.optionalPrograms.has(name)) throw new Error(error);
        skipped.push({ name, error });
        opts.log.warn({ program: name, error }, 'optional BPF program not attached');
      }
    } finally {
      if (cgroupFd >= 0) lib.closeFd(cgroupFd);
    }

    return {
      attached,
      skipped,
      mapFd(name) {
        const m = byName.get(name);
        if (!m) throw new Error(`no BPF map "${name}"`);
        return lib.mapFd(m);
      },
      destroy,
      destroyAsync,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
