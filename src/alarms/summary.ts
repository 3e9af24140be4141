/**
 * One line a nurse understands for each alarm and each change of it, e.g.
 * "fridge-3 at 9.4 °C since 2024-05-03 10:12 UTC (limit 8.0 °C for 60 min)".
 */
import type { AlarmChange } from './evaluate.js';
import type { Episode } from './episodes.js';

/** `YYYY-MM-DD hh:mm` in `tz`, with the zone's name. */
export function formatTime(ms: number, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${tz}`;
}

function celsius(v: unknown): string {
  return typeof v === 'number' ? `${v.toFixed(1)} °C` : '? °C';
}

function battery(percent: unknown, volts: unknown): string {
  if (typeof percent === 'number') return `${percent} %`;
  return typeof volts === 'number' ? `${volts} V` : 'level unknown';
}

function label(deviceId: string, sensor: string): string {
  return sensor === '' ? deviceId : `${deviceId}/${sensor}`;
}

function minutesBetween(from: number, to: number): number {
  return Math.round((to - from) / 60_000);
}

/** The summary of an alarm raised or cleared by a live change. */
export function changeSummary(deviceId: string, ch: AlarmChange, tz: string): string {
  const who = label(deviceId, ch.sensor);
  const d = ch.detail;
  const since = formatTime(ch.since, tz);
  if (ch.type === 'clear') {
    const peak = d.peak !== undefined ? `, peak ${celsius(d.peak)}` : '';
    return `${who} back to normal at ${formatTime(ch.at, tz)} after ${minutesBetween(ch.since, ch.at)} min (${ch.kind}${peak})`;
  }
  const side = d.direction === 'low' ? 'or below' : 'or above';
  switch (ch.kind) {
    case 'excursion_immediate':
      return `${who} at ${celsius(d.value)} at ${since} (alarm at once at ${celsius(d.limit)} ${side})`;
    case 'excursion_high':
    case 'excursion_low':
      return `${who} at ${celsius(d.value)} since ${since} (limit ${celsius(d.limit)} for ${String(d.minutes)} min)`;
    case 'cumulative_excursion':
      return `${who} out of range ${String(d.minutes_out)} min in total since ${since} (at ${side} ${celsius(d.limit)}; allowed ${String(d.budget_minutes)} min a ${d.window === 'day' ? 'day' : 'shipment'})`;
    case 'sensor_fault':
      return `${who} sensor fault since ${since}: repeated invalid values (${(d.flags as string[]).join(', ')})`;
    case 'low_battery':
      return `${who} battery low since ${since} (${battery(d.percent, d.volts)})`;
    default:
      return `${who} ${ch.kind} since ${since}`;
  }
}

/** The summary of an excursion found in readings that arrived late. */
export function episodeSummary(
  deviceId: string,
  e: Episode,
  reportedAt: number,
  tz: string,
): string {
  const side = e.rule.direction === 'high' ? 'or above' : 'or below';
  const end =
    e.until === null
      ? 'still out at the last late reading'
      : `to ${formatTime(e.until, tz)}`;
  return (
    `${label(deviceId, e.sensor)} was at ${side} ${celsius(e.rule.raiseAt)} from ` +
    `${formatTime(e.since, tz)} ${end} (peak ${celsius(e.peak)}), reported ${formatTime(reportedAt, tz)}`
  );
}
