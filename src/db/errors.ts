const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * True when a PostgreSQL error is about the connection or the server's state rather
 * than the data: retrying the same work later can succeed.
 */
export function isTransient(err: unknown): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    // 08 connection, 53 resources, 57 operator intervention (shutdown), 58 system, 40 rollback
    if (/^[0-9A-Z]{5}$/.test(code))
      return ['08', '53', '57', '58', '40'].includes(code.slice(0, 2));
  }
  return typeof message === 'string' && /connection|terminat|timeout/i.test(message);
}
