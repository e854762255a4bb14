/**
 * Reads the BPF ring buffer without blocking the Node event loop.
 *
 * Why this shape: ring_buffer__poll blocks its thread, and calling it through koffi's
 * async mode would run the sample callback on a libuv worker, which koffi marshals back
 * to the main thread one record at a time (a cross-thread hop per record). Instead the
 * only blocking call is epoll_wait on ring_buffer__epoll_fd, made asynchronously on one
 * libuv worker; when it reports data, ring_buffer__consume runs synchronously on the main
 * thread and the JS callback decodes each record in place (no copy, no hop). Records are
 * consumed in bounded batches: the callback stops a consume after `batchLimit` records,
 * and the loop yields to the event loop (setImmediate) before taking the next batch, so a
 * storm cannot starve timers and I/O. The epoll fd is level-triggered, so data left over
 * is reported again at once.
 *
 * At rest nothing should wake the agent: an eventfd sits in the same epoll set, and
 * stop() writes to it, so the wait needs no short timeout to notice a stop. The wait is
 * still bounded (`waitMs`) because a libuv worker blocked in epoll_wait also holds up
 * process exit (libuv joins its workers) when the reader was never stopped.
 */
import type { Logger } from 'pino';
import type { Handle, Libbpf } from './libbpf.js';

/** Called once per record with a view into the ring buffer, valid only during the call. */
export type RecordSink = (data: ArrayBuffer, size: number) => void;

export interface RingReader {
  /** Starts waiting for records. */
  start(): void;
  /** Consumes whatever the ring buffer holds now; returns the records taken. */
  drain(): number;
  /** Drains, stops waiting and frees the ring buffer; safe twice. */
  stop(): Promise<void>;
}

export interface RingReaderOptions {
  readonly lib: Libbpf;
  readonly mapFd: number;
  readonly sink: RecordSink;
  readonly log: Logger;
  /**
   * Upper bound on one epoll_wait (ms): how long an exit without stop() can be held up.
   * stop() itself wakes the wait at once.
   */
  readonly waitMs?: number;
  /** Records consumed before yielding to the event loop. */
  readonly batchLimit?: number;
}

/** Returned by the sample callback to end a consume early; the current record is already taken. */
const STOP_BATCH = -11;

export function createRingReader(opts: RingReaderOptions): RingReader {
  const { lib, sink, log } = opts;
  const waitMs = opts.waitMs ?? 1_000;
  const batchLimit = opts.batchLimit ?? 8192;
  let inBatch = 0;
  let sinkErrors = 0;

  const callback = lib.registerSample((_ctx, data, size) => {
    try {
      sink(lib.view(data, size), size);
    } catch (err) {
      // The sink is supposed to be total; count and log the first failure only.
      if (sinkErrors++ === 0) log.error({ err }, 'ring buffer record handler threw');
    }
    return ++inBatch >= batchLimit ? STOP_BATCH : 0;
  });
  const rb: Handle | null = lib.ringBufferNew(opts.mapFd, callback);
  if (!rb) {
    const errnum = lib.errno();
    lib.unregister(callback);
    throw new Error(`cannot create ring buffer reader: ${lib.strerror(errnum)} (errno ${errnum})`);
  }
  const ring: Handle = rb;
  const epfd = lib.ringBufferEpollFd(ring);
  const wakeFd = lib.addWakeFd(epfd);
  if (wakeFd < 0) {
    lib.ringBufferFree(ring);
    lib.unregister(callback);
    throw new Error(
      `cannot create the ring buffer reader's wake-up eventfd: ${lib.strerror(-wakeFd)} (errno ${-wakeFd})`,
    );
  }

  // struct epoll_event for the worker to write (content unused); owned here so it stays
  // alive for the whole asynchronous call.
  const epollEvents = Buffer.alloc(16);
  let running = false;
  let freed = false;
  let waiting: Promise<void> | undefined;

  function consumeBatch(): number {
    inBatch = 0;
    const rc = lib.ringBufferConsume(ring);
    if (rc < 0 && rc !== STOP_BATCH) log.warn({ rc }, 'ring_buffer__consume failed');
    return inBatch;
  }

  function loop(): void {
    if (!running) return;
    waiting = new Promise((resolve) => {
      lib.epollWaitAsync(epfd, epollEvents, waitMs, (err: unknown, ready: number) => {
        resolve();
        if (!running) return;
        if (err) log.warn({ err }, 'epoll_wait on the ring buffer failed');
        if (ready > 0) consumeBatch();
        setImmediate(loop);
      });
    });
  }

  return {
    start() {
      if (running || freed) return;
      running = true;
      loop();
    },
    drain() {
      if (freed) return 0;
      let total = 0;
      for (;;) {
        const n = consumeBatch();
        total += n;
        if (n < batchLimit) return total;
      }
    },
    async stop() {
      if (freed) return;
      running = false;
      lib.wake(wakeFd);
      // The epoll fd must outlive the worker still waiting on it.
      await waiting;
      if (freed) return;
      this.drain();
      freed = true;
      lib.ringBufferFree(ring);
      lib.closeFd(wakeFd);
      lib.unregister(callback);
    },
  };
}
