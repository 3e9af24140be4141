import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export type { Logger };

/** Paths whose values never reach a log line. */
const REDACT = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** The root logger; parts take a child carrying their own fields. */
export function createLogger(
  level: LogLevel,
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level,
    base: { service: 'heru' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
