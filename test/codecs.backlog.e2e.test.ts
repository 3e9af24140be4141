import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRig, type Rig } from './helpers/firmwareRig.js';

const DEVICE = 'esp32_sensor_07';
const TOPIC = `heru/sensors/${DEVICE}/backlog`;
/** Readings buffered over an outage of 2.5 hours, one every 30 s. */
const COUNT = 300;

describe('a backlog sent after an offline period, through Mosquitto', () => {
  let rig: Rig;
  const end = Math.floor(Date.now() / 1000) - 120;
  const times = Array.from({ length: COUNT }, (_, i) => end - (COUNT - 1 - i) * 30);
  const payload = JSON.stringify(
    times.map((time, i) => ({
      time,
      temperature: i === 150 ? -127 : Number((4.5 + (i % 7) / 10).toFixed(1)),
      humidity: 50 + (i % 5),
    })),
  );

  beforeAll(async () => {
    rig = await startRig();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it(`stores all ${COUNT} readings, each at its own time`, async () => {
    const raw = await rig.publish(TOPIC, payload);
    expect(raw).toMatchObject({
      outcome: 'stored',
      reading_count: COUNT,
      device_id: DEVICE,
    });
    const rows = await rig.readingsOf(raw);
    expect(rows).toHaveLength(COUNT);
    expect(rows.map((r) => r.time.getTime() / 1000)).toEqual(times);
    expect(rows.every((r) => r.time_source === 'device')).toBe(true);
  });

  it('flags the failed read within it and keeps the others good', async () => {
    const { rows } = await rig.app.pool.query<{
      quality: string;
      flags: string[];
      n: number;
    }>(
      `select quality, flags, count(*)::int as n from reading where device_id = $1
        group by quality, flags order by quality`,
      [DEVICE],
    );
    expect(rows).toEqual([
      { quality: 'good', flags: [], n: COUNT - 1 },
      { quality: 'invalid', flags: ['sensor_disconnected'], n: 1 },
    ]);
  });

  it('stores none of them again when the device sends the backlog twice', async () => {
    const again = await rig.publish(TOPIC, payload);
    expect(again.outcome).toBe('duplicate');
    const { rows } = await rig.app.pool.query(
      'select count(*)::int as n from reading where device_id = $1',
      [DEVICE],
    );
    expect(rows[0]).toEqual({ n: COUNT });
  });

  it('quarantines a backlog with a reading that has no time of its own', async () => {
    const raw = await rig.publish(
      TOPIC,
      JSON.stringify([{ time: end, temperature: 4.4 }, { temperature: 4.5 }]),
    );
    expect(raw).toMatchObject({ outcome: 'quarantined', reason: 'INVALID_PAYLOAD' });
    expect(raw.detail).toContain('[1] has no time');
  });
});
