import { describe, expect, it } from 'vitest';
import { chooseTime, EARLIEST_TRUSTED_MS } from '../src/ingest/deviceClock.js';

const receivedAt = new Date('2026-01-05T10:00:00Z');
const FIVE_MIN = 300_000;

function choose(deviceTimeMs: number | undefined) {
  return chooseTime(deviceTimeMs, receivedAt, FIVE_MIN);
}

describe('device clock', () => {
  it('uses the receive time when the device sent no time', () => {
    expect(choose(undefined)).toEqual({
      time: receivedAt,
      timeSource: 'server',
      deviceTime: null,
    });
  });

  it('trusts a device time from 2020 up to five minutes ahead of the server', () => {
    for (const ms of [
      EARLIEST_TRUSTED_MS,
      Date.UTC(2025, 11, 24),
      receivedAt.getTime(),
      receivedAt.getTime() + FIVE_MIN,
    ]) {
      expect(choose(ms)).toEqual({
        time: new Date(ms),
        timeSource: 'device',
        deviceTime: new Date(ms),
      });
    }
  });

  it('does not trust 1970 (no NTP yet): server time, device time kept', () => {
    expect(choose(42_000)).toEqual({
      time: receivedAt,
      timeSource: 'server',
      deviceTime: new Date(42_000),
      flag: 'device_clock_unset',
    });
  });

  it('does not trust a 2000-epoch value read as 1996, nor a time just before 2020', () => {
    expect(choose(Date.UTC(1996, 0, 6, 10)).flag).toBe('device_clock_unset');
    expect(choose(EARLIEST_TRUSTED_MS - 1).timeSource).toBe('server');
    expect(choose(-5000).flag).toBe('device_clock_unset');
  });

  it('does not trust a clock more than five minutes ahead', () => {
    expect(choose(receivedAt.getTime() + FIVE_MIN + 1)).toEqual({
      time: receivedAt,
      timeSource: 'server',
      deviceTime: new Date(receivedAt.getTime() + FIVE_MIN + 1),
      flag: 'device_clock_ahead',
    });
  });

  it('does not trust a jump to 2036 (the NTP era rollover)', () => {
    const v = choose(Date.UTC(2036, 1, 7, 6, 28, 16));
    expect(v.timeSource).toBe('server');
    expect(v.flag).toBe('device_clock_ahead');
    expect(v.deviceTime?.toISOString()).toBe('2036-02-07T06:28:16.000Z');
  });

  it('keeps no device time that a database or JSON date cannot hold', () => {
    for (const ms of [1e15, 1e300, -1e15]) {
      const v = choose(ms);
      expect(v.timeSource).toBe('server');
      expect(v.deviceTime).toBeNull();
      expect(v.time).toBe(receivedAt);
    }
  });

  it('takes the allowance from its argument (DEVICE_CLOCK_MAX_AHEAD)', () => {
    const ahead = receivedAt.getTime() + 60_000;
    expect(chooseTime(ahead, receivedAt, 0).timeSource).toBe('server');
    expect(chooseTime(ahead, receivedAt, 60_000).timeSource).toBe('device');
  });
});
