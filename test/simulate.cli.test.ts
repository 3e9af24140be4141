import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `heru simulate …` from the sources; `whileRunning` may signal it. */
function heru(
  args: string[],
  whileRunning?: (pid: number) => Promise<void>,
  timeoutMs = 30_000,
): Promise<Exit> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'simulate', ...args],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', MQTT_URL: '' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  if (whileRunning && child.pid !== undefined) void whileRunning(child.pid);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('heru simulate on the command line', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    app = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url });
    await waitFor(async () =>
      (await fetch(`${app.baseUrl}/health`)).ok ? true : undefined,
    );
  });

  afterAll(async () => {
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  const storedBy = async (prefix: string): Promise<number> => {
    const { rows } = await app.pool.query<{ n: number }>(
      'select count(*)::int as n from reading where device_id like $1',
      [`${prefix}-%`],
    );
    return rows[0]!.n;
  };

  it('prints its options with --help', async () => {
    const r = await heru(['--help']);
    expect(r.code).toBe(0);
    for (const option of [
      '--replay',
      '--devices',
      '--interval',
      '--seed',
      '--tz',
      '--rate',
    ]) {
      expect(r.stdout).toContain(option);
    }
  });

  it('refuses an option that belongs to the other mode, saying which', async () => {
    const r = await heru(['--replay', 'x.txt', '--devices', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--devices applies to live simulation, not to --replay');
  });

  it('publishes every reading of every device and exits', async () => {
    const args = ['--url', broker.url, '--devices', '3', '--interval', '0.02'];
    const r = await heru([
      ...args,
      ...[
        '--count',
        '40',
        '--prefix',
        'cli-live',
        '--faults',
        '--offline',
        '--seed',
        '5',
      ],
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/120 readings taken, 120 published/);
    await waitFor(
      async () => ((await storedBy('cli-live')) === 120 ? true : undefined),
      15_000,
      '120 simulated readings stored',
    );
  });

  it('sends the same values for the same --seed', async () => {
    const args = [
      '--url',
      broker.url,
      '--devices',
      '2',
      '--interval',
      '0.02',
      '--count',
      '30',
    ];
    for (const prefix of ['cli-seed-a', 'cli-seed-b']) {
      const r = await heru([...args, '--prefix', prefix, '--seed', '99', '--faults']);
      expect(r.code).toBe(0);
      await waitFor(async () => ((await storedBy(prefix)) === 60 ? true : undefined));
    }
    const values = async (prefix: string): Promise<unknown[]> =>
      (
        await app.pool.query<Record<string, unknown>>(
          `select right(device_id, 3) as n, boot, seq, temperature_c, humidity_pct, rssi_dbm
           from reading where device_id like $1 order by 1, boot, seq`,
          [`${prefix}-%`],
        )
      ).rows;
    expect(await values('cli-seed-b')).toEqual(await values('cli-seed-a'));
  });

  it('stops cleanly on SIGINT and reports what it sent', async () => {
    const r = await heru(
      [
        '--url',
        broker.url,
        '--devices',
        '2',
        '--interval',
        '0.05',
        '--prefix',
        'cli-int',
      ],
      async (pid) => {
        await waitFor(async () => ((await storedBy('cli-int')) >= 10 ? true : undefined));
        process.kill(pid, 'SIGINT');
      },
    );
    expect(r.code).toBe(0);
    const taken = /(\d+) readings taken, (\d+) published/.exec(r.stdout);
    expect(taken?.[1]).toBe(taken?.[2]);
    await waitFor(
      async () => ((await storedBy('cli-int')) === Number(taken?.[2]) ? true : undefined),
      15_000,
      'every reading the interrupted run published stored',
    );
  });

  it('replays a file at a given rate under a given device id', async () => {
    const r = await heru([
      ...['--url', broker.url, '--replay', `${DATA}ruuvitag-fridge.csv`],
      ...['--device', 'cli-ruuvi', '--rate', '1000'],
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /replayed 368 of 368 readings \(ruuvi-csv\) as device cli-ruuvi/,
    );
    const secs = Number(/in ([\d.]+) s/.exec(r.stdout)?.[1]);
    expect(secs).toBeGreaterThan(0.3);
  });

  it('says where it could not connect and what to check', async () => {
    const r = await heru(['--url', 'mqtt://127.0.0.1:1', '--count', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /could not connect to the MQTT broker at mqtt:\/\/127\.0\.0\.1:1/,
    );
    expect(r.stderr).toMatch(/check --url or MQTT_URL/);
  });
});
