import pino, { Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; every request's child logger carries its `traceId`. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'shiftdesk', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
  });
}
