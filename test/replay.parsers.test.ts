import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFridgeTag } from '../src/simulate/fridgeTag.js';
import { zoneResolver } from '../src/ingest/codecs/zoneResolver.js';
import { parseLoggerText, toHeruV1 } from '../src/simulate/loggerFile.js';
import { parseRuuviCsv } from '../src/simulate/ruuviCsv.js';

// The shared data sits beside the repository (../shared/data from its root).
const DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url));
const fridgeTagText = readFileSync(`${DATA}fridgetag-2l-export.txt`, 'utf8');
const ruuviText = readFileSync(`${DATA}ruuvitag-fridge.csv`, 'utf8');
const utc = zoneResolver('UTC');

describe('the Fridge-tag 2 L export parser', () => {
  const parsed = parseFridgeTag(fridgeTagText, utc);

  it('reads all 10,653 readings of the Data: section and nothing from Hist: or Conf:', () => {
    expect(parsed.readings).toHaveLength(10_653);
  });

  it('reads the serial number and the logging interval from Conf:', () => {
    expect(parsed.serial).toBe('130500109088');
    expect(parsed.intervalMinutes).toBe(5);
  });

  it('reads the first and last readings with their times as UTC by default', () => {
    expect(parsed.readings[0]).toEqual({
      timeMs: Date.UTC(2022, 4, 2, 4, 44),
      temperature: 26.3,
      outOfLimits: true,
    });
    expect(parsed.readings.at(-1)).toEqual({
      timeMs: Date.UTC(2022, 5, 8, 10, 11),
      temperature: 5.7,
      outOfLimits: false,
    });
  });

  it('keeps the readings in time order, below zero included', () => {
    const times = parsed.readings.map((r) => r.timeMs);
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
    const temps = parsed.readings.map((r) => r.temperature);
    expect(Math.min(...temps)).toBe(-8.4);
    // The logger's own daily report (Hist:) says +30.3: it measures between log points.
    expect(Math.max(...temps)).toBe(30.2);
  });

  it('marks as out of limits exactly the readings outside 2–8 °C, as the logger did', () => {
    const marked = parsed.readings.filter((r) => r.outOfLimits);
    expect(marked).toHaveLength(5994);
    expect(marked.every((r) => r.temperature < 2 || r.temperature > 8)).toBe(true);
  });

  it('reads the local times in the zone it is given', () => {
    const berlin = parseFridgeTag(fridgeTagText, zoneResolver('Europe/Berlin'));
    expect(berlin.readings[0]!.timeMs).toBe(Date.UTC(2022, 4, 2, 2, 44));
    const offset = parseFridgeTag(fridgeTagText, zoneResolver('-05:00'));
    expect(offset.readings[0]!.timeMs).toBe(Date.UTC(2022, 4, 2, 9, 44));
  });

  it('names the line of a Data: row it cannot read', () => {
    const broken = fridgeTagText.replace(
      '\t2022-05-02 10:36\t27.5\tx',
      '\t2022-05-02 10:36\tabc',
    );
    expect(() => parseFridgeTag(broken, utc)).toThrow(/^line 533: expected/);
  });

  it('refuses a file without a Data: section', () => {
    expect(() =>
      parseFridgeTag('Device: Q-tag Fridge-tag 2 L\r\nConf:\r\n', utc),
    ).toThrow(/no "Data:" section/);
  });
});

describe('the RuuviTag CSV parser', () => {
  const readings = parseRuuviCsv(ruuviText);

  it('reads every row once', () => {
    expect(readings).toHaveLength(368);
  });

  it('reads the time with its offset, temperature, humidity, battery voltage and signal', () => {
    expect(readings[0]).toEqual({
      timeMs: Date.UTC(2020, 4, 5, 7, 21, 56),
      temperature: 1.73,
      humidity: 44.2,
      batteryV: 2.917,
      rssi: -96,
    });
  });

  it('refuses a row with the wrong number of columns, naming its line', () => {
    const text = 'timestamp,temperature\n2020-05-05T09:21:56+0200,1.7,9\n';
    expect(() => parseRuuviCsv(text)).toThrow(
      /^line 2: 3 columns where the header has 2/,
    );
  });

  it('refuses a timestamp without an offset', () => {
    const text = 'timestamp,temperature\n2020-05-05T09:21:56,1.7\n';
    expect(() => parseRuuviCsv(text)).toThrow(/not ISO 8601 with an offset/);
  });
});

describe('a logger file turned into readings to send', () => {
  it('numbers readings by their line, not by the tag’s own sequence numbers', () => {
    const file = parseLoggerText(ruuviText, 'ruuvitag-fridge');
    const wire = toHeruV1(file.readings);
    expect(file.deviceId).toBe('ruuvitag-fridge');
    expect(wire.map((r) => r.seq)).toEqual(wire.map((_, i) => i));
    expect(new Set(wire.map((r) => r.boot))).toEqual(new Set([0]));
  });

  it('names a Fridge-tag device after its serial number unless told otherwise', () => {
    expect(parseLoggerText(fridgeTagText, 'x').deviceId).toBe('130500109088');
    expect(parseLoggerText(fridgeTagText, 'x', { deviceId: 'fridge-7' }).deviceId).toBe(
      'fridge-7',
    );
  });

  it('gives the same readings every time, so a second replay has the same keys', () => {
    const a = toHeruV1(parseLoggerText(fridgeTagText, 'x').readings);
    const b = toHeruV1(parseLoggerText(fridgeTagText, 'x').readings);
    expect(b).toEqual(a);
    expect(a[5]).toEqual({
      boot: 0,
      seq: 5,
      time: '2022-05-02T10:56:00.000Z',
      temperature: 14.2,
    });
  });

  it('refuses a file in neither format', () => {
    expect(() => parseLoggerText('hello\nworld\n', 'x')).toThrow(/neither a Fridge-tag/);
  });
});

describe('local times in a zone with daylight saving time', () => {
  const berlin = zoneResolver('Europe/Berlin');

  it('reads a time that occurs twice in autumn as its first occurrence', () => {
    const t = berlin({ year: 2022, month: 10, day: 30, hour: 2, minute: 30, second: 0 });
    expect(t).toBe(Date.UTC(2022, 9, 30, 0, 30));
  });

  it('reads a time skipped in spring with the offset before the change', () => {
    const t = berlin({ year: 2022, month: 3, day: 27, hour: 2, minute: 30, second: 0 });
    expect(t).toBe(Date.UTC(2022, 2, 27, 1, 30));
  });

  it('refuses an unknown zone with what it takes', () => {
    expect(() => zoneResolver('Mars/Olympus')).toThrow(/unknown time zone.*IANA name/);
  });
});
