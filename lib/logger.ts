import { pino, destination, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log record: tokens,
 * secrets and credentials must never reach logs, even through an error's config echo.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'hmacSecret',
  '*.hmacSecret',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  '*.*.token',
  '*.*.secret',
  '*.*.password',
];

/** The root logger; only main.ts files call this and pass children down. */
export function createRootLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.TRIPLINE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination ?? destination(2),
  );
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
