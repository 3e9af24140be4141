/** Device times before this are a clock that was never set (1970, the 2000 epoch, uptime). */
export const EARLIEST_TRUSTED_MS = Date.UTC(2020, 0, 1);

export interface ClockVerdict {
  time: Date;
  timeSource: 'device' | 'server';
  deviceTime: Date | null;
  flag?: string;
}

/**
 * Chooses the reading's time: the device's when plausible (from 2020 up to
 * `maxAheadMs` past the server's clock), the server's receive time otherwise.
 */
export function chooseTime(
  deviceTimeMs: number | undefined,
  receivedAt: Date,
  maxAheadMs: number,
): ClockVerdict {
  if (deviceTimeMs === undefined) {
    return { time: receivedAt, timeSource: 'server', deviceTime: null };
  }
  const deviceTime = representable(deviceTimeMs) ? new Date(deviceTimeMs) : null;
  if (deviceTimeMs < EARLIEST_TRUSTED_MS) {
    return {
      time: receivedAt,
      timeSource: 'server',
      deviceTime,
      flag: 'device_clock_unset',
    };
  }
  if (deviceTimeMs > receivedAt.getTime() + maxAheadMs) {
    return {
      time: receivedAt,
      timeSource: 'server',
      deviceTime,
      flag: 'device_clock_ahead',
    };
  }
  return { time: new Date(deviceTimeMs), timeSource: 'device', deviceTime };
}

// PostgreSQL timestamptz holds years 4713 BC to 294276 AD; keep to 0001–9999 for JSON.
function representable(ms: number): boolean {
  return Number.isFinite(ms) && ms >= -62135596800000 && ms <= 253402300799999;
}
