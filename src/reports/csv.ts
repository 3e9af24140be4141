/**
 * The daily report as CSV (RFC 4180): one line per day and sensor, a header line
 * first, CRLF line ends, fields quoted when they hold a comma, quote or line end.
 * Lists in a field (alarm ids; the profiles of a day whose profile changed, with
 * their ranges) are separated by spaces.
 */
import type { DailyReport } from './daily.js';

const COLUMNS = [
  'device_id',
  'sensor',
  'date',
  'readings',
  'invalid_readings',
  'min_c',
  'max_c',
  'mean_c',
  'mkt_c',
  'minutes_below',
  'minutes_above',
  'minutes_no_data',
  'gaps',
  'alarms',
  'alarm_ids',
  'profile',
  'range_low_c',
  'range_high_c',
] as const;

function field(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function dailyReportCsv(report: DailyReport): string {
  const lines = [COLUMNS.join(',')];
  for (const d of report.days) {
    const values: Array<string | number | null> = [
      report.device_id,
      d.sensor,
      d.date,
      d.readings,
      d.invalid_readings,
      d.min_c,
      d.max_c,
      d.mean_c,
      d.mkt_c,
      d.minutes_below,
      d.minutes_above,
      d.minutes_no_data,
      d.gaps.length,
      d.alarms.length,
      d.alarms.map((a) => a.id).join(' '),
      d.profiles.map((p) => p.profile).join(' '),
      d.profiles.map((p) => p.range.low).join(' '),
      d.profiles.map((p) => p.range.high).join(' '),
    ];
    lines.push(values.map(field).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
