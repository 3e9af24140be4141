/**
 * The embedded broker keeps its queue in memory, so it may acknowledge a reading to
 * its device only once ingest has committed it. A device sends readings with many in
 * flight; the server is killed with SIGKILL while they flow; after a restart every
 * reading the device saw acknowledged is in the database.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import { EmbeddedServer } from './helpers/embeddedServer.js';

const DEVICE = 'crash-fridge-1';
/** Readings the device offers; the kill comes long before they are all through. */
const READINGS = 4000;
/** Acknowledgements to see before the kill. */
const ACKS_BEFORE_KILL = 150;

async function storedSeqs(dataDir: string): Promise<Set<number>> {
  const url = (await readFile(join(dataDir, 'postgres.url'), 'utf8')).trim();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ seq: string }>(
      'select seq::text from reading where device_id = $1',
      [DEVICE],
    );
    return new Set(r.rows.map((row) => Number(row.seq)));
  } finally {
    await client.end();
  }
}

describe('the embedded broker under a crash', () => {
  let dataDir: string | undefined;
  let server: EmbeddedServer | undefined;

  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no reading it acknowledged when the server is killed with SIGKILL', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'heru-embedded-crash-'));
    server = await EmbeddedServer.create(dataDir);
    await server.start();

    const device = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: 'localhost',
      port: server.ports.mqtts,
      ca: await readFile(join(dataDir, 'pki', 'ca.crt')),
      protocolVersion: 4,
      clientId: DEVICE,
      clean: true,
      reconnectPeriod: 0,
    });
    device.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    const acknowledged: number[] = [];
    const start = Date.parse('2026-01-05T10:00:00Z');
    for (let seq = 0; seq < READINGS; seq += 1) {
      const payload = JSON.stringify({
        boot: 1,
        seq,
        time: new Date(start + seq * 1000).toISOString(),
        temperature: 4 + (seq % 10) / 10,
      });
      device.publishAsync(`heru/v1/devices/${DEVICE}/readings`, payload, { qos: 1 }).then(
        () => acknowledged.push(seq),
        () => undefined,
      );
    }
    await waitFor(
      () => Promise.resolve(acknowledged.length >= ACKS_BEFORE_KILL ? true : undefined),
      60_000,
      `${ACKS_BEFORE_KILL} acknowledgements`,
    );
    await server.kill();
    // Acknowledgements already on their way arrive before the connection closes.
    await closed;
    device.end(true);
    const acked = [...acknowledged];

    await server.start();
    const stored = await storedSeqs(dataDir);
    const lost = acked.filter((seq) => !stored.has(seq));
    console.log(
      `SIGKILL after ${acked.length} of ${READINGS} readings acknowledged; ${stored.size} stored, ${lost.length} acknowledged ones lost`,
    );
    expect(acked.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);
    // The kill came while readings were still in flight.
    expect(acked.length).toBeLessThan(READINGS);
    expect(lost).toEqual([]);
  });
});
