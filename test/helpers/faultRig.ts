/**
 * What every fault scenario stands on: a database of its own (a fresh one on the
 * shared server, or a whole PostgreSQL server of its own when the scenario stops
 * it), a Mosquitto of its own, a folder for the local IPFS store, and the server
 * processes it starts. Registered as the file's hooks: everything is made before the
 * tests and ended after them, latest first, and a failing test shows what each server
 * process logged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { waitFor } from './app.js';
import { startBroker, type TestBroker } from './mosquitto.js';
import { OwnPostgres } from './ownPostgres.js';
import { createTestDatabase } from './postgres.js';
import { ServerProcess, type ServerProcessOptions } from './serverProcess.js';

export interface FaultRig {
  databaseUrl: URL;
  /** A small pool on the scenario's database, for counting. */
  sql: pg.Pool;
  broker: TestBroker;
  /** HERU_DATA_DIR of the server processes: the local IPFS store lives here. */
  dataDir: string;
  /** The scenario's own PostgreSQL server, when it asked for one. */
  postgres?: OwnPostgres;
  /** Starts a server process (database, broker and data folder filled in). */
  server(o: Partial<ServerProcessOptions> & { clientId: string }): Promise<ServerProcess>;
  /** Runs `fn` when the file's tests are over, before the rig's own cleanup. */
  defer(fn: () => unknown): void;
}

export function useFaultRig(
  name: string,
  o: { ownPostgres?: boolean; brokerConf?: string } = {},
): FaultRig {
  const servers: ServerProcess[] = [];
  const deferred: Array<() => unknown> = [];
  const ends: Array<() => unknown> = [];
  const rig = {
    async server(options: Partial<ServerProcessOptions> & { clientId: string }) {
      const server = await ServerProcess.start({
        databaseUrl: rig.databaseUrl,
        mqttUrl: rig.broker.url,
        ...options,
        env: { HERU_DATA_DIR: rig.dataDir, ...options.env },
      });
      servers.push(server);
      // Ready is the HTTP side; ingest subscribes once its broker answers. Messages
      // published before that are not for its session yet.
      if (options.command !== 'worker') {
        await waitFor(
          async () =>
            (await server.health()).body.checks.mqtt?.status === 'ok' ? 1 : undefined,
          30_000,
          `${options.clientId} connected to its broker`,
        );
      }
      return server;
    },
    defer(fn: () => unknown) {
      deferred.push(fn);
    },
  } as FaultRig;

  beforeAll(async () => {
    if (o.ownPostgres) {
      const own = await OwnPostgres.create();
      ends.push(() => own.destroy());
      rig.postgres = own;
      rig.databaseUrl = own.url();
    } else {
      const db = await createTestDatabase();
      ends.push(() => db.drop());
      rig.databaseUrl = db.url;
    }
    rig.sql = new pg.Pool({ connectionString: rig.databaseUrl.toString(), max: 2 });
    // A connection ended by the server (stopped, or a database dropped) must not be
    // an unhandled error; the next query takes a new connection.
    rig.sql.on('error', () => undefined);
    ends.push(() => rig.sql.end());
    rig.broker = await startBroker(o.brokerConf);
    ends.push(() => rig.broker.destroy());
    rig.dataDir = mkdtempSync(join(tmpdir(), `heru-${name}-`));
    ends.push(() => rmSync(rig.dataDir, { recursive: true, force: true }));
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    for (const s of servers) console.error(`--- ${s.clientId}\n${s.output(80)}`);
  });

  afterAll(async () => {
    const steps = [
      ...deferred.reverse(),
      ...servers.map((s) => () => s.kill()),
      ...ends.reverse(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        console.error(`fault rig cleanup: ${(err as Error).message}`);
      }
    }
  });

  return rig;
}
