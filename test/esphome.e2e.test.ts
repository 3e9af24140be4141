import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putDeviceSetting } from '../src/mappings/deviceSettingStore.js';
import { waitFor } from './helpers/app.js';
import { startRig, type Rig } from './helpers/firmwareRig.js';

const NODE = 'vaccine-fridge';
const state = (node: string, name: string): string => `${node}/sensor/${name}/state`;

describe('ESPHome through Mosquitto into PostgreSQL', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig((pool) =>
      putDeviceSetting(
        pool,
        'lab-esp',
        { time_zone: null, unit: null, sensor_kinds: { probe_a: 'temperature' } },
        'test',
      ),
    );
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('stores each sensor’s plain number as its own reading, at the receive time', async () => {
    const t = await rig.publish(state(NODE, 'fridge_temperature'), '4.62');
    const h = await rig.publish(state(NODE, 'fridge_humidity'), '51.3');
    expect([t.outcome, h.outcome]).toEqual(['stored', 'stored']);
    const [temperature] = await rig.readingsOf(t);
    const [humidity] = await rig.readingsOf(h);
    expect(temperature).toMatchObject({
      sensor: 'fridge_temperature',
      temperature_c: 4.62,
      humidity_pct: null,
      time_source: 'server',
      quality: 'good',
    });
    expect(temperature!.time).toEqual(temperature!.received_at);
    expect(humidity).toMatchObject({
      sensor: 'fridge_humidity',
      temperature_c: null,
      humidity_pct: 51.3,
      quality: 'good',
    });
  });

  it('stores nan as a reading with no temperature, flagged invalid', async () => {
    const raw = await rig.publish(state(NODE, 'fridge_temperature'), 'nan');
    expect(raw.outcome).toBe('stored');
    expect(await rig.readingsOf(raw)).toEqual([
      expect.objectContaining({
        temperature_c: null,
        quality: 'invalid',
        flags: ['temperature_nan'],
      }),
    ]);
  });

  it('reads a sensor as the device’s settings say, whatever its name', async () => {
    const raw = await rig.publish(state('lab-esp', 'probe_a'), '-20.5');
    expect(await rig.readingsOf(raw)).toEqual([
      expect.objectContaining({ sensor: 'probe_a', temperature_c: -20.5 }),
    ]);
  });

  it('keeps status, the Wi-Fi signal and uptime as status messages', async () => {
    const online = await rig.publish(`${NODE}/status`, 'online', { retain: true });
    const signal = await rig.publish(state(NODE, 'wifi_signal'), '-71');
    const uptime = await rig.publish(state(NODE, 'uptime'), '86400');
    // The first message ever of a device may be its birth message.
    const first = await rig.publish('new-node/status', 'online', { retain: true });
    for (const raw of [online, signal, uptime, first])
      expect(raw).toMatchObject({ outcome: 'status', reason: null, reading_count: 0 });
    const status = await (await rig.api(`/api/v1/devices/${NODE}/status`)).json();
    expect(status).toMatchObject({ online: true, rssi_dbm: -71 });

    await rig.publish(`${NODE}/status`, 'offline', { retain: true });
    const after = await (await rig.api(`/api/v1/devices/${NODE}/status`)).json();
    expect(after).toMatchObject({ online: false, rssi_dbm: -71 });
  });

  it('counts the device’s messages, readings and no quarantine', async () => {
    const res = await rig.api(`/api/v1/devices/${NODE}`);
    expect(await res.json()).toMatchObject({
      device_id: NODE,
      reading_count: 3,
      quarantined_count: 0,
      message_count: 7,
    });
  });

  it('keeps a retained state, sent to a new session, as status: its age is unknown', async () => {
    const topic = state('old-node', 'fridge_temperature');
    const live = await rig.publish(topic, '7.7', { retain: true });
    expect(live.outcome).toBe('stored');
    await rig.restart();
    const { rows } = await waitFor(async () => {
      const r = await rig.app.pool.query<{ outcome: string }>(
        'select outcome from raw_message where topic = $1 order by id',
        [topic],
      );
      return r.rows.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => r.outcome)).toEqual(['stored', 'status']);
  });
});
