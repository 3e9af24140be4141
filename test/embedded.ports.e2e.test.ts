/**
 * A port the server must listen on is taken: `heru serve` stops with the exit code
 * of a configuration error (78) and a message that names the variable and the port
 * and says what to do. A plain MQTT port left at its default is only skipped (with a
 * warning); one that was asked for is an error too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveUntilExit } from './helpers/embeddedServer.js';

describe('heru serve on a port that is taken', () => {
  let dataDir: string;
  let taken: net.Server;
  let takenPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'heru-embedded-ports-'));
    taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  const serve = (ports: Record<string, number>) =>
    serveUntilExit({
      HERU_DATA_DIR: dataDir,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    });

  for (const variable of ['HTTP_PORT', 'EMBEDDED_MQTTS_PORT', 'EMBEDDED_MQTT_PORT']) {
    it(`names ${variable} and the port, and exits with 78`, async () => {
      const r = await serve({ [variable]: takenPort });
      expect(r.code).toBe(78);
      expect(r.stderr).toContain(`configuration error: ${variable} is "${takenPort}"`);
      expect(r.stderr).toContain(`:${takenPort} is in use by another process`);
      expect(r.stderr).toContain(`set ${variable} to another port`);
    });
  }
});
