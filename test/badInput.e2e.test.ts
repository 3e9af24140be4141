import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/** Small enough to exceed cheaply, large enough for a deeply nested payload. */
const MAX_PAYLOAD_BYTES = 65_536;
/** Nesting that overflowed the stack of the detail message before it was fixed. */
const DEEP = 20_000;

interface RawRow {
  id: string;
  device_id: string | null;
  outcome: string;
  reason: string | null;
  detail: string | null;
  payload: Buffer;
}

interface Bad {
  what: string;
  topic: string;
  payload: string | Buffer;
  reason: string;
  device: string | null;
}

const v1 = (device: string): string => `heru/v1/devices/${device}/readings`;

const QUARANTINED: Bad[] = [
  {
    what: 'a bare nan token',
    topic: 'heru/sensors/q-nan',
    payload: '{"device_id": "q-nan","temperature": nan,"humidity": 45.60}',
    reason: 'INVALID_JSON',
    device: 'q-nan',
  },
  {
    what: 'a cut-off payload',
    topic: v1('q-cut'),
    payload: '{"seq": 3, "boot": 1, "temperature": 4.',
    reason: 'INVALID_JSON',
    device: 'q-cut',
  },
  {
    what: 'bytes that are not UTF-8',
    topic: v1('q-bytes'),
    payload: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x22, 0x3a, 0x31, 0x7d]),
    reason: 'INVALID_JSON',
    device: 'q-bytes',
  },
  {
    what: 'a NUL byte where a value belongs',
    topic: v1('q-nul'),
    payload: '{"temperature": \u0000}',
    reason: 'INVALID_JSON',
    device: 'q-nul',
  },
  {
    what: 'a string where a number belongs',
    topic: v1('q-type'),
    payload: '{"temperature": "warm", "humidity": 40}',
    reason: 'INVALID_PAYLOAD',
    device: 'q-type',
  },
  {
    what: 'an array with one element of the wrong shape',
    topic: v1('q-array'),
    payload: '[{"seq": 1, "boot": 1, "temperature": 4.1}, "oops"]',
    reason: 'INVALID_PAYLOAD',
    device: 'q-array',
  },
  {
    what: 'an empty array',
    topic: v1('q-empty'),
    payload: '[]',
    reason: 'INVALID_PAYLOAD',
    device: 'q-empty',
  },
  {
    what: 'a deeply nested value',
    topic: 'heru/sensors/q-deep',
    payload: `{"temperature": ${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`,
    reason: 'INVALID_PAYLOAD',
    device: 'q-deep',
  },
  {
    what: 'a device_id that disagrees with the topic',
    topic: 'heru/sensors/q-mismatch',
    payload: '{"device_id": "esp32_sensor_99","temperature": 4.5,"humidity": 45.6}',
    reason: 'DEVICE_TOPIC_MISMATCH',
    device: 'q-mismatch',
  },
  {
    what: 'a device_id in an array that disagrees with the topic',
    topic: v1('q-mismatch-v1'),
    payload: '[{"device_id": "q-mismatch-v1", "temperature": 4}, {"device_id": "x"}]',
    reason: 'DEVICE_TOPIC_MISMATCH',
    device: 'q-mismatch-v1',
  },
  {
    what: 'a device id with characters outside the allowed set',
    topic: 'heru/sensors/q bad$id',
    payload: '{"temperature": 4.5}',
    reason: 'INVALID_DEVICE_ID',
    device: null,
  },
  {
    what: 'a payload over MAX_PAYLOAD_BYTES',
    topic: v1('q-large'),
    payload: `{"temperature": 4.5, "pad": "${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`,
    reason: 'PAYLOAD_TOO_LARGE',
    device: 'q-large',
  },
];

interface Flagged {
  what: string;
  device: string;
  payload: string;
  /** Expected readings in seq order (then id). */
  readings: Array<Record<string, unknown>>;
}

const bad = (flag: string, humidity: number | null = null) => ({
  temperature_c: null,
  humidity_pct: humidity,
  quality: 'invalid',
  flags: [flag],
});

const FLAGGED: Flagged[] = [
  {
    what: '"nan" as a string from the Heru firmware',
    device: 'f-nan-firmware',
    payload: '{"device_id": "f-nan-firmware","temperature": "nan","humidity": 45.60}',
    readings: [bad('temperature_nan', 45.6)],
  },
  {
    what: '"NaN"',
    device: 'f-nan',
    payload: '{"temperature": "NaN"}',
    readings: [bad('temperature_nan')],
  },
  {
    what: 'null',
    device: 'f-null',
    payload: '{"temperature": null, "humidity": 50}',
    readings: [bad('temperature_missing', 50)],
  },
  {
    what: '"Infinity" and "-Infinity"',
    device: 'f-inf',
    payload:
      '[{"seq": 1, "boot": 1, "temperature": "Infinity"}, {"seq": 2, "boot": 1, "temperature": "-Infinity"}]',
    readings: [bad('temperature_infinite'), bad('temperature_infinite')],
  },
  {
    what: '−127.0 (disconnected DS18B20)',
    device: 'f-127',
    payload: '{"temperature": -127.0}',
    readings: [bad('sensor_disconnected')],
  },
  {
    what: '−127.44 (disconnected DS18B20, rounded)',
    device: 'f-127-44',
    payload: '{"temperature": -127.44}',
    readings: [bad('sensor_disconnected')],
  },
  {
    what: '85.0 as the first value of a boot',
    device: 'f-85-boot',
    payload: '{"boot": 2, "seq": 0, "temperature": 85.0}',
    readings: [bad('power_on_value')],
  },
  {
    what: '150 °C (out of range)',
    device: 'f-range',
    payload: '{"temperature": 150}',
    readings: [bad('temperature_out_of_range')],
  },
  {
    what: 'one NaN in an array',
    device: 'f-array',
    payload:
      '[{"seq": 1, "boot": 1, "temperature": 4.1}, {"seq": 2, "boot": 1, "temperature": "nan"}, {"seq": 3, "boot": 1, "temperature": 4.3}]',
    readings: [
      { temperature_c: 4.1, humidity_pct: null, quality: 'good', flags: [] },
      bad('temperature_nan'),
      { temperature_c: 4.3, humidity_pct: null, quality: 'good', flags: [] },
    ],
  },
  {
    what: 'humidity above 100 %RH',
    device: 'f-humidity',
    payload: '{"temperature": 4.5, "humidity": 120}',
    readings: [
      {
        temperature_c: 4.5,
        humidity_pct: null,
        quality: 'good',
        flags: ['humidity_out_of_range'],
      },
    ],
  },
  {
    what: '85.0 within a steady series (kept)',
    device: 'f-85-steady',
    payload:
      '[{"boot": 1, "seq": 5, "temperature": 84.5}, {"boot": 1, "seq": 6, "temperature": 85.0}]',
    readings: [
      { temperature_c: 84.5, humidity_pct: null, quality: 'good', flags: [] },
      { temperature_c: 85, humidity_pct: null, quality: 'good', flags: [] },
    ],
  },
  {
    what: '39.2 °F (converted, kept)',
    device: 'f-fahrenheit',
    payload: '{"temperature": 39.2, "unit": "F"}',
    readings: [{ temperature_c: 4, humidity_pct: null, quality: 'good', flags: [] }],
  },
];

describe('bad input through MQTT into PostgreSQL', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let publisher: mqtt.MqttClient;
  let ingestClientId: string;
  /** Packet ids the broker acknowledged to the publisher. */
  const pubacks = new Set<number>();

  const start = async (clientId?: string): Promise<TestApp> => {
    const env: Record<string, string> = { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) };
    if (clientId) env.MQTT_CLIENT_ID = clientId;
    const started = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url, env });
    await waitFor(
      async () => ((await fetch(`${started.baseUrl}/health`)).ok ? true : undefined),
      10_000,
      '/health 200',
    );
    return started;
  };

  /** Publishes at QoS 1, checks the broker's PUBACK, and waits for the raw message. */
  const send = async (topic: string, payload: string | Buffer): Promise<RawRow> => {
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const sent = await publisher.publishAsync(topic, bytes, { qos: 1 });
    expect(pubacks.has(sent?.messageId ?? -1)).toBe(true);
    return waitFor(
      async () => {
        const { rows } = await app.pool.query<RawRow>(
          `select id::text, device_id, outcome, reason, detail, payload
           from raw_message where topic = $1 and payload = $2`,
          [topic, bytes],
        );
        return rows[0];
      },
      10_000,
      `the raw message on ${topic}`,
    );
  };

  const metric = async (name: string, label: string, value: string): Promise<number> => {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{${label}="${value}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    app = await start();
    ingestClientId = app.clientId;
    publisher = await mqtt.connectAsync(broker.url, { clientId: `pub-${app.clientId}` });
    publisher.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && p.messageId !== undefined) pubacks.add(p.messageId);
    });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  for (const c of QUARANTINED) {
    it(`keeps ${c.what} raw as ${c.reason}, byte for byte, with no reading`, async () => {
      const raw = await send(c.topic, c.payload);
      expect(raw).toMatchObject({
        outcome: 'quarantined',
        reason: c.reason,
        device_id: c.device,
      });
      expect(raw.detail).toBeTruthy();
      expect(raw.payload.equals(Buffer.from(c.payload))).toBe(true);
      const { rows } = await app.pool.query(
        'select 1 from reading where raw_message_id = $1',
        [raw.id],
      );
      expect(rows).toHaveLength(0);
    });
  }

  it('counts each quarantined message on its device, by reason', async () => {
    const { rows } = await app.pool.query<{
      device_id: string;
      quarantined_count: number;
      message_count: number;
      reading_count: number;
      reason: string;
      count: number;
    }>(
      `select d.device_id, d.quarantined_count::int, d.message_count::int,
              d.reading_count::int, q.reason, q.count::int
       from device d join device_quarantine_count q using (device_id)`,
    );
    const byDevice = (
      a: { device_id: string | null },
      b: { device_id: string | null },
    ) => (a.device_id! < b.device_id! ? -1 : 1);
    const expected = QUARANTINED.filter((c) => c.device !== null)
      .map((c) => ({
        device_id: c.device,
        quarantined_count: 1,
        message_count: 1,
        reading_count: 0,
        reason: c.reason,
        count: 1,
      }))
      .sort(byDevice);
    expect(rows.sort(byDevice)).toEqual(expected);
  });

  it('makes no device of an invalid device id', async () => {
    const { rows } = await app.pool.query(
      `select device_id from device where device_id like '%bad%'`,
    );
    expect(rows).toHaveLength(0);
  });

  it('counts them in heru_messages_quarantined_total by reason', async () => {
    const byReason = new Map<string, number>();
    for (const c of QUARANTINED)
      byReason.set(c.reason, (byReason.get(c.reason) ?? 0) + 1);
    for (const [reason, count] of byReason)
      expect(await metric('heru_messages_quarantined_total', 'reason', reason)).toBe(
        count,
      );
  });

  for (const c of FLAGGED) {
    it(`stores ${c.what} as the expected readings, the raw value kept`, async () => {
      const raw = await send(topicOf(c), c.payload);
      expect(raw).toMatchObject({ outcome: 'stored', reason: null });
      expect(raw.payload.toString()).toBe(c.payload);
      const { rows } = await app.pool.query(
        `select temperature_c, humidity_pct, quality, flags from reading
         where device_id = $1 order by seq nulls first, id`,
        [c.device],
      );
      expect(rows).toEqual(c.readings);
    });
  }

  it('counts flagged readings in heru_readings_flagged_total', async () => {
    expect(
      await metric('heru_readings_flagged_total', 'flag', 'sensor_disconnected'),
    ).toBe(2);
    expect(await metric('heru_readings_flagged_total', 'flag', 'power_on_value')).toBe(1);
  });

  describe('device clocks', () => {
    const now = (): number => Date.now();
    const cases: Array<[string, () => unknown, string, string[]]> = [
      ['1970 (before NTP)', () => 5, 'server', ['device_clock_unset']],
      [
        'the 2000 epoch',
        () => Math.floor((now() - Date.UTC(2000, 0, 1)) / 1000),
        'server',
        ['device_clock_unset'],
      ],
      ['2036', () => '2036-02-07T06:28:16Z', 'server', ['device_clock_ahead']],
      ['the far future', () => 1e15, 'server', ['device_clock_ahead']],
      [
        'ISO with an offset, a minute ago',
        () => isoWithOffset(now() - 60_000, 120),
        'device',
        [],
      ],
      ['epoch milliseconds, a minute ago', () => now() - 60_000, 'device', []],
    ];
    cases.forEach(([what, time, source, flags], i) => {
      it(`uses the ${source} time for ${what} and says so in time_source`, async () => {
        const device = `clock-${i}`;
        const sent = time();
        const raw = await send(
          v1(device),
          JSON.stringify({ temperature: 4.2, time: sent }),
        );
        const { rows } = await app.pool.query<{
          time: Date;
          received_at: Date;
          time_source: string;
          device_time: Date | null;
          flags: string[];
        }>(
          `select time, received_at, time_source, device_time, flags from reading
           where raw_message_id = $1`,
          [raw.id],
        );
        const r = rows[0]!;
        expect(r.time_source).toBe(source);
        expect(r.flags).toEqual(flags);
        if (source === 'server') expect(r.time).toEqual(r.received_at);
        else expect(r.time).toEqual(r.device_time);
      });
    });
  });

  it('still stores a good message after all of them, and /health is 200', async () => {
    const raw = await send(
      'heru/sensors/esp32_sensor_01',
      '{"device_id": "esp32_sensor_01","temperature": 23.45,"humidity": 45.60}',
    );
    expect(raw.outcome).toBe('stored');
    const { rows } = await app.pool.query(
      `select temperature_c, quality from reading where raw_message_id = $1`,
      [raw.id],
    );
    expect(rows).toEqual([{ temperature_c: 23.45, quality: 'good' }]);
    const health = await fetch(`${app.baseUrl}/health`);
    expect(health.status).toBe(200);
  });

  it('acknowledged the quarantined messages: a restart gets none of them again', async () => {
    const count = async (): Promise<number> =>
      (await app.pool.query<{ n: number }>('select count(*)::int as n from raw_message'))
        .rows[0]!.n;
    const before = await count();
    await app.close();

    // Sent while ingest is away: the broker keeps it in the persistent session, which
    // shows that anything left unacknowledged would come back too.
    await publisher.publishAsync(v1('q-while-away'), '{"temperature": oops}', { qos: 1 });
    app = await start(ingestClientId);
    const marker = await send(v1('after-restart'), '{"temperature": 4.4}');
    expect(marker.outcome).toBe('stored');

    expect(await count()).toBe(before + 2);
    const { rows } = await app.pool.query<{ topic: string; n: number }>(
      `select topic, count(*)::int as n from raw_message group by topic having count(*) > 1`,
    );
    expect(rows).toEqual([]);
    const away = await app.pool.query<{ reason: string }>(
      `select reason from raw_message where device_id = 'q-while-away'`,
    );
    expect(away.rows).toEqual([{ reason: 'INVALID_JSON' }]);
  });
});

/** The Heru firmware's topic for payloads that name their device, heru/v1 otherwise. */
function topicOf(c: Flagged): string {
  return c.payload.includes('"device_id"') ? `heru/sensors/${c.device}` : v1(c.device);
}

/** An ISO 8601 time with an explicit offset from UTC, in minutes. */
function isoWithOffset(ms: number, offsetMin: number): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}
