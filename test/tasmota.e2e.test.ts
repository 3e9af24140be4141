import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putDeviceSetting } from '../src/mappings/deviceSettingStore.js';
import { localTime, startRig, toSecond, type Rig } from './helpers/firmwareRig.js';

/** A Tasmota in a Berlin clinic, its Time in local time without an offset. */
const BERLIN = 'tasmota_8A3F2C';
const ZONE = 'Europe/Berlin';

describe('Tasmota through Mosquitto into PostgreSQL', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig((pool) =>
      putDeviceSetting(
        pool,
        BERLIN,
        { time_zone: ZONE, unit: null, sensor_kinds: {} },
        'test',
      ),
    );
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('stores a DS18B20 at the time it read, its local Time read in the device’s zone', async () => {
    const at = Date.now() - 90_000;
    const raw = await rig.publish(
      `tele/${BERLIN}/SENSOR`,
      `{"Time":"${localTime(at, ZONE)}","DS18B20":{"Id":"01144A0CB2AA","Temperature":4.6},"TempUnit":"C"}`,
    );
    expect(raw).toMatchObject({ outcome: 'stored', device_id: BERLIN, reading_count: 1 });
    expect(await rig.readingsOf(raw)).toEqual([
      expect.objectContaining({
        sensor: 'DS18B20-01144A0CB2AA',
        temperature_c: 4.6,
        time: toSecond(at),
        time_source: 'device',
        quality: 'good',
        flags: [],
      }),
    ]);
  });

  it('stores two probes of one device as two sensors, and a later copy once', async () => {
    const at = Date.now() - 60_000;
    const payload =
      `{"Time":"${localTime(at, ZONE)}","DS18B20-1":{"Id":"01144A0CB2AA","Temperature":4.4},` +
      `"DS18B20-2":{"Id":"0316A2797E8F","Temperature":-19.8},"TempUnit":"C"}`;
    const raw = await rig.publish(`tele/${BERLIN}/SENSOR`, payload);
    const rows = await rig.readingsOf(raw);
    expect(rows.map((r) => [r.sensor, r.temperature_c, r.time])).toEqual([
      ['DS18B20-01144A0CB2AA', 4.4, toSecond(at)],
      ['DS18B20-0316A2797E8F', -19.8, toSecond(at)],
    ]);
    const again = await rig.publish(`tele/${BERLIN}/SENSOR`, payload);
    expect(again.outcome).toBe('duplicate');
  });

  it('flags a probe that drops out of the message, and one that sends null', async () => {
    const at = Date.now() - 30_000;
    const raw = await rig.publish(
      `tele/${BERLIN}/SENSOR`,
      `{"Time":"${localTime(at, ZONE)}","DS18B20-1":{"Id":"0316A2797E8F","Temperature":-19.9},"TempUnit":"C"}`,
    );
    const rows = await rig.readingsOf(raw);
    expect(rows.map((r) => [r.sensor, r.temperature_c, r.quality, r.flags])).toEqual([
      ['DS18B20-01144A0CB2AA', null, 'invalid', ['sensor_missing']],
      ['DS18B20-0316A2797E8F', -19.9, 'good', []],
    ]);

    const failed = await rig.publish(
      'tele/tasmota_dht/SENSOR',
      '{"Time":"1970-01-01T00:01:12","AM2301":{"Temperature":null,"Humidity":null,"DewPoint":null},"TempUnit":"C"}',
    );
    expect(await rig.readingsOf(failed)).toEqual([
      expect.objectContaining({
        sensor: 'AM2301',
        temperature_c: null,
        humidity_pct: null,
        quality: 'invalid',
        time_source: 'server',
        flags: ['temperature_missing', 'humidity_missing', 'device_clock_unset'],
      }),
    ]);
  });

  it('stores AM2301, SHT3X and BME280 blocks in °F converted to °C, in UTC by default', async () => {
    const at = Date.now() - 45_000;
    const raw = await rig.publish(
      'tele/tasmota_room/SENSOR',
      `{"Time":"${localTime(at, 'UTC')}","AM2301":{"Temperature":39.2,"Humidity":61.3,"DewPoint":26.6},` +
        `"SHT3X":{"Temperature":41.0,"Humidity":58.2,"DewPoint":27.9},` +
        `"BME280":{"Temperature":68.0,"Humidity":40.1,"DewPoint":43.1,"Pressure":1013.2},` +
        `"ESP32":{"Temperature":118.4},"PressureUnit":"hPa","TempUnit":"F"}`,
    );
    const rows = await rig.readingsOf(raw);
    expect(rows.map((r) => [r.sensor, r.temperature_c, r.humidity_pct, r.time])).toEqual([
      ['AM2301', 4, 61.3, toSecond(at)],
      ['BME280', 20, 40.1, toSecond(at)],
      ['SHT3X', 5, 58.2, toSecond(at)],
    ]);
  });

  it('keeps LWT and STATE as status messages and updates the device’s status', async () => {
    const online = await rig.publish(`tele/${BERLIN}/LWT`, 'Online', { retain: true });
    expect(online).toMatchObject({ outcome: 'status', reason: null, reading_count: 0 });
    const state = await rig.publish(
      `tele/${BERLIN}/STATE`,
      `{"Time":"${localTime(Date.now(), ZONE)}","Uptime":"0T00:15:12","UptimeSec":912,"Heap":25,` +
        '"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,' +
        '"Wifi":{"AP":1,"SSId":"clinic","BSSId":"AA:BB:CC:DD:EE:FF","Channel":6,"Mode":"11n","RSSI":74,"Signal":-63,"LinkCount":1,"Downtime":"0T00:00:03"}}',
    );
    expect(state.outcome).toBe('status');
    const offline = await rig.publish(`tele/${BERLIN}/LWT`, 'Offline', { retain: true });
    expect(offline.outcome).toBe('status');

    const status = (await (
      await rig.api(`/api/v1/devices/${BERLIN}/status`)
    ).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ device_id: BERLIN, online: false, rssi_dbm: -63 });
    const { rows } = await rig.app.pool.query(
      `select count(*)::int as n from raw_message where device_id = $1 and outcome = 'quarantined'`,
      [BERLIN],
    );
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('shows the device’s time zone through the API', async () => {
    const res = await rig.api(`/api/v1/devices/${BERLIN}/settings`);
    expect(await res.json()).toMatchObject({ device_id: BERLIN, time_zone: ZONE });
  });
});
