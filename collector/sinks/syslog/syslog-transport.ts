/**
 * Carries framed syslog messages to the receiver: one persistent TCP or TLS connection,
 * re-established on the next send after any error or close, or UDP datagrams.
 */
import { createSocket, type Socket as DatagramSocket } from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../../lib/logger.js';
import { failure, retryable, SUCCESS, type Result } from '../../../lib/result.js';
import { TLS_VERIFY_CODES } from '../http-post.js';

/** Where framed messages go. */
export interface SyslogTransport {
  /**
   * Writes `messages` (already framed for streams) in order; never throws. Success means
   * the kernel accepted the bytes: stream syslog has no application acknowledgement.
   */
  write(messages: readonly Buffer[], signal: AbortSignal): Promise<Result>;
  /** Closes the connection, if any. */
  close(): Promise<void>;
}

export interface StreamTransportOptions {
  readonly host: string;
  readonly port: number;
  /** TLS options, or undefined for plain TCP. */
  readonly tls: tls.ConnectionOptions | undefined;
  readonly connectTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly log: Logger;
  /** Called with 'connected', or with a bounded reason when a connection ends or fails. */
  readonly onConnection: (event: 'connected' | 'connect-error' | 'closed') => void;
}

export function createStreamTransport(opts: StreamTransportOptions): SyslogTransport {
  let socket: net.Socket | undefined;
  let connecting: Promise<net.Socket | Result> | undefined;

  function drop(s: net.Socket): void {
    if (socket === s) {
      socket = undefined;
      opts.onConnection('closed');
    }
    s.destroy();
  }

  function connect(): Promise<net.Socket | Result> {
    return new Promise((resolve) => {
      const s = opts.tls
        ? tls.connect({
            ...opts.tls,
            host: opts.host,
            port: opts.port,
            servername: opts.tls.servername ?? sniName(opts.host),
          })
        : net.connect({ host: opts.host, port: opts.port });
      const ready = opts.tls ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        s.destroy();
        opts.onConnection('connect-error');
        resolve(retryable(`connect to ${opts.host}:${opts.port} timed out after ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs);
      const onError = (err: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        s.destroy();
        opts.onConnection('connect-error');
        const what = `connect to ${opts.host}:${opts.port}: ${err.code ?? err.message}`;
        // A certificate the client rejects stays rejected until someone changes a config.
        resolve(TLS_VERIFY_CODES.test(err.code ?? '') ? failure(what) : retryable(what));
      };
      s.once('error', onError);
      s.once(ready, () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.setKeepAlive(true, 30_000);
        s.setNoDelay(true);
        // Receivers send nothing; reading keeps the socket flowing so FIN is noticed.
        s.resume();
        s.on('error', (err: NodeJS.ErrnoException) => {
          opts.log.debug({ err }, 'syslog connection error');
          drop(s);
        });
        s.on('end', () => drop(s));
        s.on('close', () => drop(s));
        opts.onConnection('connected');
        resolve(s);
      });
    });
  }

  async function connection(): Promise<net.Socket | Result> {
    if (socket && !socket.destroyed) return socket;
    connecting ??= connect().then((s) => {
      connecting = undefined;
      if (s instanceof net.Socket) socket = s;
      return s;
    });
    return connecting;
  }

  return {
    async write(messages, signal) {
      if (signal.aborted) return retryable('aborted before sending');
      const s = await connection();
      if (!(s instanceof net.Socket)) return s;
      return new Promise<Result>((resolve) => {
        let done = false;
        const finish = (r: Result): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          s.off('close', onClose);
          resolve(r);
        };
        // A write the peer never drains, or a cancel mid-write, leaves an unknown prefix on
        // the wire: only a new connection gives the next attempt a clean frame boundary.
        const timer = setTimeout(() => {
          drop(s);
          finish(retryable(`write not flushed within ${opts.writeTimeoutMs} ms`));
        }, opts.writeTimeoutMs);
        const onAbort = (): void => {
          drop(s);
          finish(retryable('aborted'));
        };
        const onClose = (): void => finish(retryable('connection closed during write'));
        signal.addEventListener('abort', onAbort, { once: true });
        s.once('close', onClose);
        s.write(Buffer.concat(messages), (err) => {
          if (err) {
            drop(s);
            finish(retryable(`write: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
          } else {
            finish(SUCCESS);
          }
        });
      });
    },
    async close() {
      const s = socket;
      socket = undefined;
      if (!s || s.destroyed) return;
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      });
    },
  };
}

/** SNI must be a host name, never an IP address (RFC 6066 §3). */
function sniName(host: string): string | undefined {
  return net.isIP(host) ? undefined : host;
}

export interface DatagramTransportOptions {
  readonly host: string;
  readonly port: number;
}

/** One datagram per message (RFC 5426); nothing confirms receipt. */
export function createDatagramTransport(opts: DatagramTransportOptions): SyslogTransport {
  let socket: DatagramSocket | undefined;
  const family = net.isIPv6(opts.host) ? 'udp6' : 'udp4';
  return {
    async write(messages, signal) {
      if (signal.aborted) return retryable('aborted before sending');
      if (!socket) {
        const s = createSocket(family);
        s.on('error', () => {
          if (socket === s) socket = undefined;
          s.close();
        });
        socket = s;
      }
      const s = socket;
      for (const m of messages) {
        const err = await new Promise<Error | null>((resolve) => s.send(m, opts.port, opts.host, resolve));
        if (err) {
          if (socket === s) socket = undefined;
          s.close();
          return retryable(`send: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
        }
      }
      return SUCCESS;
    },
    async close() {
      const s = socket;
      socket = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
