/**
 * The plain-text export of a Berlinger Fridge-tag 2 L logger.
 *
 * The file is a tree of `Key: value` lines, indented by one space a level, with CRLF
 * line ends. Top-level sections: the device lines, `Conf:` (serial number, alarm
 * set-up, logging interval), `Hist:` (the logger's own daily report: min, max,
 * average, minutes in each alarm zone), `Data:` (the readings), then `Cert:` and the
 * signature. Only `Data:` holds readings; the dates in `Hist:` and `Conf:` are not
 * readings. `Data:` starts with a header line and then holds, one a line, indented by
 * a tab:
 *
 *   yyyy-MM-dd hh:mm<TAB>temperature in °C[<TAB>x when out of limits]
 *
 * in the logger's local time, without a zone.
 */
import type { WallClock } from '../ingest/codecs/isoTime.js';
import { LoggerFileError, type LoggedReading } from './loggedReading.js';

export interface FridgeTagReading extends LoggedReading {
  /** The logger marked it out of its limits (`x`). */
  outOfLimits: boolean;
}

export interface FridgeTagExport {
  /** `Conf: Serial:`; undefined when the file has none. */
  serial: string | undefined;
  /** `Conf: Logging Interval:`, minutes. */
  intervalMinutes: number | undefined;
  /** Every line of `Data:`, in file order. */
  readings: FridgeTagReading[];
}

const DATA_HEADER = /^\tyyyy-MM-dd hh:mm\t/;
const DATA_LINE =
  /^\t(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d)\t([+-]?\d+(?:\.\d+)?)(?:\t(x?)\s*)?$/;

/** Detects the export by its first line. */
export function looksLikeFridgeTag(text: string): boolean {
  return /^\uFEFF?Device:[^\r\n]*Fridge-tag/i.test(text);
}

/** Parses the export; `zone` says how to read its local times. Pure. */
export function parseFridgeTag(text: string, zone: WallClock): FridgeTagExport {
  const lines = text.split(/\r?\n/);
  const result: FridgeTagExport = {
    serial: undefined,
    intervalMinutes: undefined,
    readings: [],
  };
  let section = '';
  let sawData = false;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    if (!/^[\t ]/.test(line)) {
      section = line.slice(0, line.indexOf(':') + 1);
      sawData ||= section === 'Data:';
      return;
    }
    if (section === 'Conf:') readConf(line, result);
    else if (section === 'Data:') readData(line, i + 1, zone, result.readings);
  });
  if (!sawData) {
    throw new LoggerFileError(
      lines.length,
      'no "Data:" section; is this the text export of a Fridge-tag 2 L?',
    );
  }
  return result;
}

function readConf(line: string, into: FridgeTagExport): void {
  const serial = /^ Serial:\s*(\S+)\s*$/.exec(line);
  if (serial && into.serial === undefined) into.serial = serial[1];
  const interval = /^ Logging Interval:\s*(\d+)\s*$/.exec(line);
  if (interval) into.intervalMinutes = Number(interval[1]);
}

function readData(
  line: string,
  lineNo: number,
  zone: WallClock,
  into: FridgeTagReading[],
): void {
  if (DATA_HEADER.test(line)) return;
  const m = DATA_LINE.exec(line);
  if (!m) {
    throw new LoggerFileError(
      lineNo,
      `expected "<TAB>yyyy-MM-dd hh:mm<TAB>temperature[<TAB>x]" in the Data: section, ` +
        `got ${JSON.stringify(line.slice(0, 60))}`,
    );
  }
  const [year, month, day, hour, minute] = m.slice(1, 6).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) {
    throw new LoggerFileError(lineNo, `no such time: ${line.trim().split('\t')[0]}`);
  }
  into.push({
    timeMs: zone({ year, month, day, hour, minute, second: 0 }),
    temperature: Number(m[6]),
    outOfLimits: m[7] === 'x',
  });
}
