import { pino, type Logger } from 'pino';
import { TOKEN_PATTERN } from './auth/token.js';
import type { LogLevel } from './config/config.js';

export type { Logger };

/**
 * Field names whose values never reach a log line, at the top of a line's object and
 * up to three levels down (e.g. `config.pinata.auth.jwt`, `err.config.password`).
 */
const SECRET_FIELDS = [
  'password',
  'secret',
  'token',
  'key',
  'privateKey',
  'jwt',
  'apiKey',
  'apiSecret',
  'gatewayToken',
  'webhookSecret',
  'authToken',
  'authorization',
  'cookie',
];

const REDACT = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]),
  'req.headers.authorization',
  'req.headers.cookie',
];

/**
 * Last guard on each line as written, for secrets inside text (an error message, a
 * URL): API tokens, PEM private keys, and the password of a URL's user part.
 */
const SCRUB: ReadonlyArray<[RegExp, string]> = [
  [TOKEN_PATTERN, 'heru_[redacted]'],
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[^]*?-----END [A-Z ]*PRIVATE KEY-----/g,
    '[redacted private key]',
  ],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[^"]*/g, '[redacted private key]'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"]+:)[^@/\s"]+@/gi, '$1[redacted]@'],
];

/** `line` with every secret SCRUB knows replaced. */
export function scrubSecrets(line: string): string {
  let out = line;
  for (const [pattern, replacement] of SCRUB) out = out.replace(pattern, replacement);
  return out;
}

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
    hooks: { streamWrite: scrubSecrets },
  };
  return destination ? pino(options, destination) : pino(options);
}
