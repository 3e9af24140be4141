/**
 * A CSV of RuuviTag measurements, one row per BLE advertisement received:
 *
 *   timestamp,temperature,humidity,pressure,rssi,acceleration x,acceleration y,
 *   acceleration z,voltage,movement counter,measurement sequence number
 *
 * `timestamp` is ISO 8601 with an offset (`2020-05-05T09:21:56+0200`). Columns are
 * found by name, so their order may differ; only `timestamp` and `temperature` are
 * required. The tag's `measurement sequence number` is not used: it restarts and
 * jumps (the receiver misses advertisements), so a reading's number is its row.
 * Plain CSV only: no quoted fields.
 */
import { LoggerFileError, type LoggedReading } from './loggedReading.js';

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|([+-])(\d\d):?(\d\d))$/;

/** Detects the CSV by its header. */
export function looksLikeRuuviCsv(text: string): boolean {
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const cols = header.split(',').map((c) => c.trim().toLowerCase());
  return cols.includes('timestamp') && cols.includes('temperature');
}

/** Parses the CSV into readings in file order. Pure. */
export function parseRuuviCsv(text: string): LoggedReading[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((c) => c.trim().toLowerCase());
  const col = (name: string): number => header.indexOf(name);
  const at = {
    time: col('timestamp'),
    temperature: col('temperature'),
    humidity: col('humidity'),
    voltage: col('voltage'),
    rssi: col('rssi'),
  };
  if (at.time < 0 || at.temperature < 0) {
    throw new LoggerFileError(
      1,
      'the header needs the columns timestamp and temperature',
    );
  }
  const readings: LoggedReading[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = cellsOf(line, header.length, i + 1);
    const reading: LoggedReading = {
      timeMs: instant(cells[at.time]!, i + 1),
      temperature: number(cells[at.temperature]!, 'temperature', i + 1),
    };
    const optional = {
      humidity: at.humidity,
      batteryV: at.voltage,
      rssi: at.rssi,
    } as const;
    for (const [key, index] of Object.entries(optional)) {
      const cell = index < 0 ? '' : cells[index]!.trim();
      if (cell !== '') reading[key as keyof typeof optional] = number(cell, key, i + 1);
    }
    readings.push(reading);
  }
  return readings;
}

function cellsOf(line: string, expected: number, lineNo: number): string[] {
  if (line.includes('"')) {
    throw new LoggerFileError(lineNo, 'quoted CSV fields are not supported');
  }
  const cells = line.split(',');
  if (cells.length !== expected) {
    throw new LoggerFileError(
      lineNo,
      `${cells.length} columns where the header has ${expected}`,
    );
  }
  return cells;
}

function instant(cell: string, lineNo: number): number {
  const m = ISO_WITH_OFFSET.exec(cell.trim());
  if (!m) {
    throw new LoggerFileError(
      lineNo,
      `timestamp ${JSON.stringify(cell)} is not ISO 8601 with an offset ` +
        '(such as 2020-05-05T09:21:56+0200)',
    );
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  const offsetMin = m[8] === 'Z' ? 0 : Number(m[10]) * 60 + Number(m[11]);
  const sign = m[9] === '-' ? -1 : 1;
  return Date.UTC(y, mo - 1, d, h, mi, s, fraction) - sign * offsetMin * 60_000;
}

function number(cell: string, name: string, lineNo: number): number {
  const v = Number(cell.trim());
  if (cell.trim() === '' || !Number.isFinite(v)) {
    throw new LoggerFileError(lineNo, `${name} ${JSON.stringify(cell)} is not a number`);
  }
  return v;
}
