import net from 'node:net';
import { ConfigError } from './ConfigError.js';

/**
 * The configuration error for a port that cannot be listened on, naming the
 * variable that chose it: taken by another process (EADDRINUSE), or not allowed for
 * this user (EACCES, a port below 1024). Other errors are returned as they are.
 */
export function listenError(
  variable: string,
  address: { host: string; port: number },
  err: unknown,
): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${address.host}:${address.port}`;
  if (code === 'EADDRINUSE') {
    return new ConfigError(
      variable,
      `a free port, but ${where} is in use by another process: stop that process, or set ${variable} to another port`,
      String(address.port),
    );
  }
  if (code === 'EACCES') {
    return new ConfigError(
      variable,
      `a port this user may listen on (${where} was refused; ports below 1024 need privileges): set ${variable} to a port from 1024 up`,
      String(address.port),
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Fails at once, before the slow parts of a start, when `port` cannot be listened on
 * (the listen that follows may still fail if another process takes it meanwhile).
 * Port 0 (any free port) always passes.
 */
export async function assertPortFree(
  variable: string,
  address: { host: string; port: number },
): Promise<void> {
  if (address.port === 0) return;
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(variable, address, err)));
    server.listen(address.port, address.host, () => server.close(() => resolve()));
  });
}
