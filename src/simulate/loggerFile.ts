/**
 * A logger file to replay: its format found from its content, its readings, and the
 * device id they are sent under.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { isValidDeviceId } from '../ingest/deviceId.js';
import { looksLikeFridgeTag, parseFridgeTag } from './fridgeTag.js';
import { zoneResolver } from '../ingest/codecs/zoneResolver.js';
import { LoggerFileError, type LoggedReading } from './loggedReading.js';
import type { HeruV1Reading } from './payload.js';
import { looksLikeRuuviCsv, parseRuuviCsv } from './ruuviCsv.js';

export type LoggerFormat = 'fridge-tag' | 'ruuvi-csv';

export interface LoggerFile {
  format: LoggerFormat;
  deviceId: string;
  readings: LoggedReading[];
}

export interface ReadOptions {
  /** Device id to send under; default the Fridge-tag's serial number or the file name. */
  deviceId?: string;
  /** Time zone of local times without one (Fridge-tag), default `UTC`. */
  tz?: string;
}

/** Reads and parses the file; throws with the file name and line on bad content. */
export function readLoggerFile(path: string, options: ReadOptions = {}): LoggerFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read ${path}: ${(err as Error).message}; ` +
        'give the path of a Fridge-tag 2 L text export or a RuuviTag CSV',
    );
  }
  try {
    return parseLoggerText(text, basename(path, extname(path)), options);
  } catch (err) {
    if (err instanceof LoggerFileError) throw new Error(`${path}: ${err.message}`);
    throw err;
  }
}

/** Parses the text of a logger file named `name` (without extension). Pure. */
export function parseLoggerText(
  text: string,
  name: string,
  options: ReadOptions = {},
): LoggerFile {
  let format: LoggerFormat;
  let readings: LoggedReading[];
  let fromFile: string;
  if (looksLikeFridgeTag(text)) {
    const parsed = parseFridgeTag(text, zoneResolver(options.tz ?? 'UTC'));
    format = 'fridge-tag';
    readings = parsed.readings;
    fromFile = parsed.serial ?? name;
  } else if (looksLikeRuuviCsv(text)) {
    format = 'ruuvi-csv';
    readings = parseRuuviCsv(text);
    fromFile = name;
  } else {
    throw new LoggerFileError(
      1,
      'neither a Fridge-tag 2 L text export (first line "Device: … Fridge-tag …") ' +
        'nor a RuuviTag CSV (a header with timestamp and temperature)',
    );
  }
  return { format, deviceId: deviceIdFor(options.deviceId, fromFile), readings };
}

function deviceIdFor(given: string | undefined, fromFile: string): string {
  const id = given ?? fromFile.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64);
  if (!isValidDeviceId(id)) {
    throw new Error(
      `device id ${JSON.stringify(id)} is not valid (1–64 characters of ` +
        '[A-Za-z0-9._:-], starting with a letter or digit); give one with --device',
    );
  }
  return id;
}

/**
 * The readings in `heru/v1` form. Each gets boot 0 and its index in the file as its
 * sequence number, so that replaying the same file again sends the same natural keys
 * and the server stores nothing twice.
 */
export function toHeruV1(readings: readonly LoggedReading[]): HeruV1Reading[] {
  return readings.map((r, i) => {
    const out: HeruV1Reading = {
      boot: 0,
      seq: i,
      time: new Date(r.timeMs).toISOString(),
      temperature: r.temperature,
    };
    if (r.humidity !== undefined) out.humidity = r.humidity;
    if (r.batteryV !== undefined) out.battery_v = r.batteryV;
    if (r.rssi !== undefined) out.rssi = r.rssi;
    return out;
  });
}
