import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import { rawMessage, startRig, type RawRow, type Rig } from './helpers/firmwareRig.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `heru mapping …` from the sources against the test's database. */
function heru(databaseUrl: URL, args: string[], timeoutMs = 30_000): Promise<Exit> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'mapping', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl.toString(), LOG_LEVEL: 'warn' },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/**
 * Publishes `payload` on `topic` every 200 ms until the server stores a raw message of
 * it: the server has loaded the mapping change and subscribed (before that the broker
 * drops the messages: nobody subscribes to the topic).
 */
async function once(rig: Rig, topic: string, payload: string): Promise<RawRow> {
  return waitFor(
    async () => {
      await rig.publisher.publishAsync(topic, payload, { qos: 1 });
      const { rows } = await rig.app.pool.query<{ n: number }>(
        'select count(*)::int as n from raw_message where topic = $1 and payload = $2',
        [topic, Buffer.from(payload)],
      );
      if (rows[0]!.n === 0) {
        await new Promise((r) => setTimeout(r, 200));
        return undefined;
      }
      return rawMessage(rig.app.pool, topic, payload);
    },
    15_000,
    `a message on ${topic} stored after the mapping change`,
  );
}

describe('an operator maps a new JSON device with heru mapping, no code change', () => {
  let rig: Rig;
  const now = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    rig = await startRig();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('creates the mapping from the command line', async () => {
    const out = await heru(rig.db.url, [
      'put',
      'coldbox',
      '--topic',
      'coldbox/{device}/data',
      '--temperature',
      '$.sensors.probe1',
      '--humidity',
      '$.sensors.rh',
      '--time',
      '$.ts',
      '--time-format',
      'epoch_s',
      '--battery-pct',
      '$.bat',
      '--by',
      'ops@clinic',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('mapping coldbox created: coldbox/+/data');
  });

  it('stores the new device’s readings once the running server has the mapping', async () => {
    await once(rig, 'coldbox/probe-0/data', '{"sensors": {"probe1": 5}}');
    const payload = JSON.stringify({
      ts: now - 60,
      sensors: { probe1: 4.8, rh: 55.5 },
      bat: 93,
    });
    const raw = await rig.publish('coldbox/cb-7/data', payload);
    expect(raw).toMatchObject({ outcome: 'stored', device_id: 'cb-7' });
    expect(await rig.readingsOf(raw)).toEqual([
      expect.objectContaining({
        temperature_c: 4.8,
        humidity_pct: 55.5,
        battery_pct: 93,
        time: new Date((now - 60) * 1000),
        time_source: 'device',
        quality: 'good',
        flags: [],
      }),
    ]);
  });

  it('quarantines a payload that does not fit the mapping as MAPPING_MISMATCH', async () => {
    const raw = await rig.publish('coldbox/cb-7/data', '{"sensors": {"probe1": "warm"}}');
    expect(raw).toMatchObject({
      outcome: 'quarantined',
      reason: 'MAPPING_MISMATCH',
      device_id: 'cb-7',
      detail: 'temperature at $.sensors.probe1 must be a number, got "warm"',
    });
  });

  it('flags a disconnected probe of the mapped device like any other', async () => {
    const raw = await rig.publish(
      'coldbox/cb-7/data',
      JSON.stringify({ ts: now - 30, sensors: { probe1: -127, rh: 55 } }),
    );
    expect(await rig.readingsOf(raw)).toEqual([
      expect.objectContaining({
        temperature_c: null,
        quality: 'invalid',
        flags: ['sensor_disconnected'],
      }),
    ]);
  });

  it('shows what a message would give, without storing it', async () => {
    const out = await heru(rig.db.url, [
      'test',
      'coldbox',
      '--topic',
      'coldbox/cb-9/data',
      '--payload',
      `{"ts": ${now}, "sensors": {"probe1": 3.9}}`,
    ]);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      outcome: 'stored',
      device_id: 'cb-9',
      readings: [{ temperature_c: 3.9, time_source: 'device', quality: 'good' }],
    });
    const { rows } = await rig.app.pool.query(
      `select 1 from reading where device_id = 'cb-9'`,
    );
    expect(rows).toHaveLength(0);
  });

  it('refuses a mapping that cannot work, saying why', async () => {
    const out = await heru(rig.db.url, [
      'put',
      'broken',
      '--topic',
      'coldbox/{device}/+',
      '--temperature',
      '$.t',
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('overlaps mapping coldbox');
  });

  it('takes a mapping through the API too, with the device and times in the payload', async () => {
    const res = await rig.api(`/api/v1/mappings/ble-gateway`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        topic: 'gateway/{sensor}/log',
        device_id: '$.mac',
        readings: '$.log',
        temperature: '@.c',
        time: '@.at',
        time_format: 'pattern',
        time_pattern: 'DD.MM.YYYY HH:mm:ss',
        time_zone: 'Europe/Berlin',
        by: 'ops@clinic',
      }),
    });
    expect(res.status).toBe(201);
    await once(rig, 'gateway/probe/log', '{"mac": "probe-1", "log": [{"c": 5}]}');

    const at = (ms: number) =>
      new Intl.DateTimeFormat('de-DE', {
        timeZone: 'Europe/Berlin',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      })
        .format(new Date(ms))
        .replace(', ', ' ');
    const t1 = (now - 120) * 1000;
    const t2 = (now - 60) * 1000;
    const raw = await rig.publish(
      'gateway/door/log',
      JSON.stringify({
        mac: 'A4:C1:38:0B:2E:11',
        log: [
          { c: 4.1, at: at(t1) },
          { c: 4.3, at: at(t2) },
        ],
      }),
    );
    expect(raw).toMatchObject({ outcome: 'stored', device_id: 'A4:C1:38:0B:2E:11' });
    const rows = await rig.readingsOf(raw);
    expect(rows.map((r) => [r.sensor, r.temperature_c, r.time.getTime()])).toEqual([
      ['door', 4.1, t1],
      ['door', 4.3, t2],
    ]);
  });

  it('lists the mappings, and a deleted one no longer reads its topic', async () => {
    const list = await heru(rig.db.url, ['list']);
    expect(list.stdout).toMatch(/^ble-gateway\s+gateway\/\+\/log/m);
    expect(list.stdout).toMatch(/^coldbox\s+coldbox\/\+\/data/m);

    const del = await heru(rig.db.url, ['delete', 'coldbox', '--by', 'ops@clinic']);
    expect(del.code).toBe(0);
    // The broker keeps the subscription; the message is kept, as a topic no codec reads.
    const raw = await waitFor(async () => {
      const r = await rig.publish(
        'coldbox/cb-7/data',
        `{"sensors": {"probe1": 4}, "n": ${Date.now()}}`,
      );
      return r.outcome === 'quarantined' ? r : undefined;
    }, 15_000);
    expect(raw.reason).toBe('UNKNOWN_TOPIC');

    const changes = (await (
      await rig.api(`/api/v1/mappings/coldbox/changes`)
    ).json()) as { changes: Array<{ by: string; old: unknown; new: unknown }> };
    expect(changes.changes.map((c) => [c.by, c.old === null, c.new === null])).toEqual([
      ['ops@clinic', true, false],
      ['ops@clinic', false, true],
    ]);
  });
});
