/**
 * The slice of libbpf (Debian libbpf1, ABI v1.x) and libc the eBPF sensor calls, bound
 * through koffi. Pointers to libbpf objects stay opaque koffi values; errors follow the
 * libbpf 1.0 convention (NULL with errno set, or a negative error code).
 */
import koffi from 'koffi';

/** An opaque libbpf object (bpf_object, bpf_program, bpf_map, bpf_link, ring_buffer). */
export type Handle = object;

/** ring_buffer_sample_fn: return 0 to continue; a negative value stops the consume. */
export type SampleFn = (ctx: unknown, data: unknown, size: number) => number;

export interface Libbpf {
  /** bpf_object__open_file(path, NULL); null on failure (see errno()). */
  openFile(path: string): Handle | null;
  load(obj: Handle): number;
  close(obj: Handle): void;
  nextProgram(obj: Handle, prev: Handle | null): Handle | null;
  programName(prog: Handle): string;
  programSection(prog: Handle): string;
  programSetAutoload(prog: Handle, autoload: boolean): number;
  /**
   * Whether programs of progType may call helper: loads a three-instruction program that
   * calls it. 1 when the kernel accepts it, 0 when the verifier refuses it (EINVAL), or
   * -errno when the load failed for another reason (EPERM). libbpf_probe_bpf_helper is not
   * used: it reads the verifier's message, and libbpf 1.1 does not know the one kernels
   * print now, so it answers "supported" for any helper.
   */
  probeHelper(progType: number, helper: number): number;
  attach(prog: Handle): Handle | null;
  /** bpf_program__attach_cgroup: for cgroup programs, which need the cgroup to attach to. */
  attachCgroup(prog: Handle, cgroupFd: number): Handle | null;
  linkDestroy(link: Handle): number;
  /** bpf_link__destroy on a libuv worker: detaching waits for an RCU grace period. */
  linkDestroyAsync(link: Handle, done: (err: unknown, rc: number) => void): void;
  nextMap(obj: Handle, prev: Handle | null): Handle | null;
  mapName(map: Handle): string;
  mapFd(map: Handle): number;
  mapSetMaxEntries(map: Handle, entries: number): number;
  /** The writable initial contents of a global-data map (.rodata) before load. */
  mapInitialValue(map: Handle): ArrayBuffer | null;
  mapValueSize(map: Handle): number;
  /** bpf_map_lookup_elem on a map fd; 0 on success, -1 with errno otherwise. */
  lookupElem(fd: number, key: Buffer, value: Buffer): number;
  /** bpf_map_update_elem; 0 on success, -1 with errno otherwise. */
  updateElem(fd: number, key: Uint8Array, value: Uint8Array, flags: number): number;
  getNextKey(fd: number, key: Buffer | null, next: Buffer): number;
  ringBufferNew(mapFd: number, sample: unknown): Handle | null;
  ringBufferConsume(rb: Handle): number;
  ringBufferEpollFd(rb: Handle): number;
  ringBufferFree(rb: Handle): void;
  numPossibleCpus(): number;
  /** Registers a JS ring-buffer sample callback; keep it registered while the ring buffer lives. */
  registerSample(fn: SampleFn): unknown;
  unregister(cb: unknown): void;
  /** Routes libbpf's own messages to `fn` (level 0 warn, 1 info, 2 debug). */
  setPrint(fn: (level: number, message: string) => void): void;
  /**
   * Waits up to timeoutMs for the epoll fd on a libuv worker thread; result is the ready
   * count or -1. `events` (16 bytes) must stay referenced until `done` runs.
   */
  epollWaitAsync(epfd: number, events: Buffer, timeoutMs: number, done: (err: unknown, ready: number) => void): void;
  /**
   * A non-blocking eventfd added to `epfd` (EPOLLIN), so that writing to it wakes a
   * thread blocked in epollWaitAsync at once; the fd, or a negative errno.
   */
  addWakeFd(epfd: number): number;
  /** Makes a fd from addWakeFd readable (wakes any epoll_wait on it). */
  wake(fd: number): void;
  /** open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC): a directory fd, or -1 with errno. */
  openDirectory(path: string): number;
  /** close(2). */
  closeFd(fd: number): void;
  /**
   * glibc malloc_trim(0): hands free malloc arenas back to the kernel. libbpf frees the
   * parsed kernel BTF after load, but glibc keeps those pages mapped until trimmed.
   */
  mallocTrim(): void;
  /** The calling thread's errno as a positive number. */
  errno(): number;
  strerror(errnum: number): string;
  /** Mounts tracefs at `target` (needed to resolve tracepoint ids). */
  mountTracefs(target: string): number;
  /** A view over `size` bytes of native memory, valid only for the duration of a callback. */
  view(ptr: unknown, size: number): ArrayBuffer;
}

export const LIBBPF_SONAME = 'libbpf.so.1';

let loaded: Libbpf | undefined;

const EPOLLIN = 0x001;
const EPOLL_CTL_ADD = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
const EINVAL = 22;
const BPF_JMP_CALL = 0x85;
const BPF_ALU64_MOV_K = 0xb7;
const BPF_JMP_EXIT = 0x95;
/** The 8-byte counter increment an eventfd write takes. */
const WAKE_VALUE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/** Loads libbpf.so.1 and libc once per process; throws when either cannot be loaded. */
export function loadLibbpf(): Libbpf {
  loaded ??= bind();
  return loaded;
}

function bind(): Libbpf {
  const lib = koffi.load(LIBBPF_SONAME);
  const libc = koffi.load('libc.so.6');

  const f = {
    openFile: lib.func('void *bpf_object__open_file(const char *path, const void *opts)'),
    load: lib.func('int bpf_object__load(void *obj)'),
    close: lib.func('void bpf_object__close(void *obj)'),
    nextProgram: lib.func('void *bpf_object__next_program(void *obj, void *prev)'),
    programName: lib.func('const char *bpf_program__name(void *prog)'),
    programSection: lib.func('const char *bpf_program__section_name(void *prog)'),
    programSetAutoload: lib.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    progLoad: lib.func(
      'int bpf_prog_load(int prog_type, const char *name, const char *license, const void *insns, size_t insn_cnt, const void *opts)',
    ),
    attach: lib.func('void *bpf_program__attach(void *prog)'),
    attachCgroup: lib.func('void *bpf_program__attach_cgroup(void *prog, int cgroup_fd)'),
    linkDestroy: lib.func('int bpf_link__destroy(void *link)'),
    nextMap: lib.func('void *bpf_object__next_map(void *obj, void *prev)'),
    mapName: lib.func('const char *bpf_map__name(void *map)'),
    mapFd: lib.func('int bpf_map__fd(void *map)'),
    mapSetMaxEntries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t entries)'),
    mapInitialValue: lib.func('void *bpf_map__initial_value(void *map, _Out_ size_t *psize)'),
    mapValueSize: lib.func('uint32_t bpf_map__value_size(void *map)'),
    lookupElem: lib.func('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    getNextKey: lib.func('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
    updateElem: lib.func('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    ringBufferNew: lib.func('void *ring_buffer__new(int map_fd, void *sample_cb, void *ctx, const void *opts)'),
    ringBufferConsume: lib.func('int ring_buffer__consume(void *rb)'),
    ringBufferEpollFd: lib.func('int ring_buffer__epoll_fd(void *rb)'),
    ringBufferFree: lib.func('void ring_buffer__free(void *rb)'),
    numPossibleCpus: lib.func('int libbpf_num_possible_cpus(void)'),
    setPrint: lib.func('void *libbpf_set_print(void *fn)'),
    epollWait: libc.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)'),
    epollCtl: libc.func('int epoll_ctl(int epfd, int op, int fd, void *event)'),
    eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
    write: libc.func('intptr_t write(int fd, const void *buf, size_t count)'),
    open: libc.func('int open(const char *path, int flags)'),
    closeFd: libc.func('int close(int fd)'),
    mallocTrim: libc.func('int malloc_trim(size_t pad)'),
    errnoLocation: libc.func('int *__errno_location(void)'),
    strerror: libc.func('const char *strerror(int errnum)'),
    vsnprintf: libc.func('int vsnprintf(void *buf, size_t size, const char *fmt, void *ap)'),
    mount: libc.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)',
    ),
  };

  const sampleProto = koffi.proto('int tripline_sample_fn(void *ctx, void *data, size_t size)');
  // va_list decays to a pointer when passed, so libbpf's message can be formatted by
  // handing that pointer straight to vsnprintf.
  const printProto = koffi.proto('int tripline_print_fn(int level, const char *fmt, void *ap)');
  let printCb: unknown;

  return {
    openFile: (path) => f.openFile(path, null),
    load: (obj) => f.load(obj),
    close: (obj) => f.close(obj),
    nextProgram: (obj, prev) => f.nextProgram(obj, prev),
    programName: (prog) => f.programName(prog),
    programSection: (prog) => f.programSection(prog),
    programSetAutoload: (prog, autoload) => f.programSetAutoload(prog, autoload),
    probeHelper(progType, helper) {
      // struct bpf_insn: u8 code, u8 dst:4 src:4, s16 off, s32 imm. r1 (the context) is
      // the helper's first argument as loaded.
      const insns = Buffer.alloc(24);
      insns.writeUInt8(BPF_JMP_CALL, 0);
      insns.writeInt32LE(helper, 4);
      insns.writeUInt8(BPF_ALU64_MOV_K, 8); // r0 = 1: a verdict every program type accepts
      insns.writeInt32LE(1, 12);
      insns.writeUInt8(BPF_JMP_EXIT, 16);
      const fd = f.progLoad(progType, 'tl_probe', 'GPL', insns, 3, null) as number;
      if (fd >= 0) {
        f.closeFd(fd);
        return 1;
      }
      return fd === -EINVAL ? 0 : fd;
    },
    attach: (prog) => f.attach(prog),
    attachCgroup: (prog, fd) => f.attachCgroup(prog, fd),
    linkDestroy: (link) => f.linkDestroy(link),
    linkDestroyAsync: (link, done) => f.linkDestroy.async(link, done),
    nextMap: (obj, prev) => f.nextMap(obj, prev),
    mapName: (map) => f.mapName(map),
    mapFd: (map) => f.mapFd(map),
    mapSetMaxEntries: (map, entries) => f.mapSetMaxEntries(map, entries),
    mapInitialValue(map) {
      const size = [0];
      const ptr = f.mapInitialValue(map, size);
      return ptr && size[0] ? koffi.view(ptr, Number(size[0])) : null;
    },
    mapValueSize: (map) => f.mapValueSize(map),
    lookupElem: (fd, key, value) => f.lookupElem(fd, key, value),
    getNextKey: (fd, key, next) => f.getNextKey(fd, key, next),
    updateElem: (fd, key, value, flags) => f.updateElem(fd, key, value, flags),
    ringBufferNew: (fd, sample) => f.ringBufferNew(fd, sample, null, null),
    ringBufferConsume: (rb) => f.ringBufferConsume(rb),
    ringBufferEpollFd: (rb) => f.ringBufferEpollFd(rb),
    ringBufferFree: (rb) => f.ringBufferFree(rb),
    numPossibleCpus: () => f.numPossibleCpus(),
    registerSample: (fn) => koffi.register(fn, koffi.pointer(sampleProto)),
    unregister: (cb) => koffi.unregister(cb as Parameters<typeof koffi.unregister>[0]),
    setPrint(fn) {
      // Verifier logs arrive as one message and can run to hundreds of KiB.
      const buf = Buffer.alloc(1 << 20);
      const next = koffi.register((level: number, fmt: string, ap: unknown) => {
        const n = f.vsnprintf(buf, buf.length, fmt, ap) as number;
        fn(level, buf.toString('utf8', 0, Math.max(0, Math.min(n, buf.length - 1))).trimEnd());
        return 0;
      }, koffi.pointer(printProto));
      f.setPrint(next);
      // The previous callback is unreachable from libbpf now; free its trampoline.
      if (printCb) koffi.unregister(printCb as Parameters<typeof koffi.unregister>[0]);
      printCb = next;
    },
    epollWaitAsync: (epfd, events, timeoutMs, done) => f.epollWait.async(epfd, events, 1, timeoutMs, done),
    addWakeFd(epfd) {
      const fd = f.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) as number;
      if (fd < 0) return -(koffi.decode(f.errnoLocation(), 'int') as number);
      // struct epoll_event is packed on x86-64: u32 events, u64 data (unused here).
      const event = Buffer.alloc(12);
      event.writeUInt32LE(EPOLLIN, 0);
      if ((f.epollCtl(epfd, EPOLL_CTL_ADD, fd, event) as number) !== 0) {
        const errnum = koffi.decode(f.errnoLocation(), 'int') as number;
        f.closeFd(fd);
        return -errnum;
      }
      return fd;
    },
    wake: (fd) => void f.write(fd, WAKE_VALUE, 8),
    openDirectory: (path) => f.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
    closeFd: (fd) => void f.closeFd(fd),
    mallocTrim: () => void f.mallocTrim(0),
    errno: () => koffi.decode(f.errnoLocation(), 'int') as number,
    strerror: (errnum) => f.strerror(errnum) as string,
    mountTracefs: (target) => f.mount('tracefs', target, 'tracefs', 0, null),
    view: (ptr, size) => koffi.view(ptr, size),
  };
}
