import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import { startRig, type RawRow, type Rig } from './helpers/firmwareRig.js';

interface Failure {
  what: string;
  device: string;
  /** Messages in order; the last one carries the failure. */
  messages: Array<[topic: string, payload: string]>;
  /** The stored reading of the last message (or its sensor, when it has several). */
  expected: Record<string, unknown>;
  sensor?: string;
}

const firmware = (id: string, body: string): [string, string] => [
  `heru/sensors/${id}`,
  `{"device_id": "${id}",${body}}`,
];
const v1 = (id: string, body: unknown): [string, string] => [
  `heru/v1/devices/${id}/readings`,
  JSON.stringify(body),
];
const invalid = (flags: string[], humidity: number | null = null) => ({
  temperature_c: null,
  humidity_pct: humidity,
  quality: 'invalid',
  flags,
});

const FAILURES: Failure[] = [
  {
    what: 'a disconnected DS18B20, −127.00',
    device: 'sf-ds-127',
    messages: [firmware('sf-ds-127', '"temperature": -127.00,"humidity": 45.60')],
    expected: invalid(['sensor_disconnected'], 45.6),
  },
  {
    what: 'a disconnected DS18B20 at low resolution, −127.44',
    device: 'sf-ds-127-44',
    messages: [v1('sf-ds-127-44', { temperature: -127.44 })],
    expected: invalid(['sensor_disconnected']),
  },
  {
    what: 'the DS18B20 power-on 85 as the first value of a boot',
    device: 'sf-ds-85-boot',
    messages: [
      v1('sf-ds-85-boot', { boot: 1, seq: 40, temperature: 4.9 }),
      v1('sf-ds-85-boot', { boot: 2, seq: 0, temperature: 85.0 }),
    ],
    expected: invalid(['power_on_value']),
  },
  {
    what: 'the DS18B20 power-on 85 after a jump of more than 20 °C',
    device: 'sf-ds-85-jump',
    messages: [
      firmware('sf-ds-85-jump', '"temperature": 4.6,"humidity": 50'),
      firmware('sf-ds-85-jump', '"temperature": 85.0,"humidity": 50.5'),
    ],
    expected: invalid(['power_on_value'], 50.5),
  },
  {
    what: 'an underpowered DS18B20, 127.94',
    device: 'sf-ds-127-94',
    messages: [firmware('sf-ds-127-94', '"temperature": 127.94,"humidity": 48')],
    expected: invalid(['sensor_underpowered'], 48),
  },
  {
    what: 'a DHT22 read failure written as null by ArduinoJson',
    device: 'sf-dht-null',
    messages: [firmware('sf-dht-null', '"temperature": null,"humidity": null')],
    expected: invalid(['temperature_missing', 'humidity_missing']),
  },
  {
    what: 'a DHT22 NaN from ESPHome',
    device: 'sf-dht-nan',
    messages: [['sf-dht-nan/sensor/fridge_temperature/state', 'nan']],
    expected: invalid(['temperature_nan']),
  },
  {
    what: 'DHT22 garbage 2146959360 beside a humidity of 0',
    device: 'sf-dht-garbage',
    messages: [firmware('sf-dht-garbage', '"temperature": 2146959360,"humidity": 0')],
    expected: invalid(['sensor_read_error']),
  },
  {
    what: 'an SHT30 read failure, −45.00 °C with 0.00 %',
    device: 'sf-sht-45',
    messages: [firmware('sf-sht-45', '"temperature": -45.00,"humidity": 0.00')],
    expected: invalid(['sensor_read_error']),
  },
  {
    what: '185 °F from a Tasmota DS18B20 just started',
    device: 'sf-tasmota-185f',
    messages: [
      [
        'tele/sf-tasmota-185f/SENSOR',
        '{"DS18B20":{"Id":"0316A2797E8F","Temperature":185.0},"TempUnit":"F"}',
      ],
    ],
    expected: invalid(['power_on_value']),
  },
  {
    what: 'a value outside the AM2301’s range, from Tasmota',
    device: 'sf-tasmota-range',
    messages: [
      [
        'tele/sf-tasmota-range/SENSOR',
        '{"AM2301":{"Temperature":95.0,"Humidity":20.0,"DewPoint":60.1},"TempUnit":"C"}',
      ],
    ],
    expected: invalid(['temperature_out_of_range'], 20),
  },
  {
    what: 'a value outside any probe’s range, 150 °C',
    device: 'sf-range',
    messages: [v1('sf-range', { temperature: 150 })],
    expected: invalid(['temperature_out_of_range']),
  },
  {
    what: 'a humidity above 100 %RH beside a good temperature',
    device: 'sf-humidity',
    messages: [v1('sf-humidity', { temperature: 4.5, humidity: 120 })],
    expected: {
      temperature_c: 4.5,
      humidity_pct: null,
      quality: 'good',
      flags: ['humidity_out_of_range'],
    },
  },
];

const CLOCKS: Array<[string, unknown, string]> = [
  ['0, a clock before NTP sync', 0, 'device_clock_unset'],
  ['seconds since boot', 5_400, 'device_clock_unset'],
  ['the 2036 NTP rollover', '2036-02-07T06:28:16Z', 'device_clock_ahead'],
  ['a time far in the future', '2099-12-31T23:59:59Z', 'device_clock_ahead'],
];

describe('every way a cheap sensor lies, through Mosquitto into PostgreSQL', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig();
  });

  afterAll(async () => {
    await rig?.close();
  });

  for (const f of FAILURES) {
    it(`stores ${f.what} as a flagged reading without the value`, async () => {
      const raws: RawRow[] = [];
      for (const [topic, payload] of f.messages)
        raws.push(await rig.publish(topic, payload));
      const raw = raws.at(-1)!;
      expect(raw).toMatchObject({ outcome: 'stored', device_id: f.device });
      const rows = await rig.readingsOf(raw);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject(f.expected);
      const { rows: kept } = await rig.app.pool.query<{ payload: Buffer }>(
        'select payload from raw_message where id = $1',
        [raw.id],
      );
      expect(kept[0]!.payload.toString()).toBe(f.messages.at(-1)![1]);
    });
  }

  CLOCKS.forEach(([what, time, flag], i) => {
    it(`uses the server time for a device time of ${what}, and says so`, async () => {
      const raw = await rig.publish(
        `heru/v1/devices/sf-clock-${i}/readings`,
        JSON.stringify({ temperature: 4.4, time }),
      );
      const [r] = await rig.readingsOf(raw);
      expect(r).toMatchObject({
        temperature_c: 4.4,
        time_source: 'server',
        quality: 'good',
        flags: [flag],
      });
      expect(r!.time).toEqual(r!.received_at);
      expect(r!.device_time).not.toEqual(r!.time);
    });
  });

  it('raises no temperature alarm for any of them, while a real excursion raises one', async () => {
    // A warm fridge after all of them: once its alarm is in, the rule engine has
    // evaluated every reading stored before it.
    await rig.publish(...firmware('sf-warm', '"temperature": 14.5,"humidity": 50'));
    await waitFor(
      async () => {
        const { rows } = await rig.app.pool.query(
          `select 1 from alarm where device_id = 'sf-warm' and kind like 'excursion%'`,
        );
        return rows.length > 0 ? true : undefined;
      },
      20_000,
      'the excursion alarm of the warm fridge',
    );
    const { rows } = await rig.app.pool.query<{ device_id: string; kind: string }>(
      `select device_id, kind from alarm
        where device_id like 'sf-%' and device_id <> 'sf-warm'
          and kind in ('excursion_high', 'excursion_low', 'excursion_immediate',
                       'cumulative_excursion', 'historical_excursion')`,
    );
    expect(rows).toEqual([]);
  });
});
