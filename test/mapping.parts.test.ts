import { describe, expect, it } from 'vitest';
import { wallAsUtc } from '../src/ingest/codecs/isoTime.js';
import { wallClockOf } from '../src/ingest/codecs/timeZones.js';
import { compilePath, valueAt } from '../src/mappings/jsonPath.js';
import { MappingError } from '../src/mappings/mappingError.js';
import { timeReader } from '../src/mappings/timeFormat.js';
import { compileTopicPattern, filtersOverlap } from '../src/mappings/topicPattern.js';

describe('topic patterns', () => {
  it('turns {device} and {sensor} into + and captures them', () => {
    const p = compileTopicPattern('acme/{device}/probes/{sensor}');
    expect(p.filter).toBe('acme/+/probes/+');
    expect(p.match('acme/fr-1/probes/top')).toEqual({ device: 'fr-1', sensor: 'top' });
    expect(p.match('acme/fr-1/probes')).toBeUndefined();
    expect(p.match('acme/fr-1/probes/top/x')).toBeUndefined();
    expect(p.match('other/fr-1/probes/top')).toBeUndefined();
  });

  it('keeps + and # with their MQTT meaning', () => {
    const p = compileTopicPattern('gw/+/{device}/#');
    expect(p.filter).toBe('gw/+/+/#');
    expect(p.match('gw/site-4/dev-9')).toEqual({ device: 'dev-9' });
    expect(p.match('gw/site-4/dev-9/a/b')).toEqual({ device: 'dev-9' });
  });

  it('refuses patterns that would take every topic or misuse wildcards', () => {
    for (const bad of [
      '#',
      '+/x',
      '{device}/up',
      '$SYS/x',
      'a/#/b',
      'a/b+c',
      'a/{device}/{device}',
      '',
    ])
      expect(() => compileTopicPattern(bad), bad).toThrow(MappingError);
  });

  it('tells when two filters can match one topic', () => {
    expect(filtersOverlap('a/+/c', 'a/b/#')).toBe(true);
    expect(filtersOverlap('a/#', 'a')).toBe(true);
    expect(filtersOverlap('heru/sensors/+', 'heru/+/x')).toBe(true);
    expect(filtersOverlap('a/+', 'a/b/c')).toBe(false);
    expect(filtersOverlap('a/b', 'a/c')).toBe(false);
  });
});

describe('JSON paths', () => {
  const payload = {
    dev: 'fr-1',
    data: [{ t: 4.5 }, { t: null }],
    'temp °C': 3,
    nested: { 'a.b': { c: 7 } },
  };

  it('reads names, indexes and quoted names from $ and @', () => {
    const at = (text: string, current: unknown = payload) =>
      valueAt(compilePath(text, 'x'), payload, current);
    expect(at('$.dev')).toBe('fr-1');
    expect(at('$.data[0].t')).toBe(4.5);
    expect(at('$.data[1].t')).toBeNull();
    expect(at("$['temp °C']")).toBe(3);
    expect(at('$.nested["a.b"].c')).toBe(7);
    expect(at('@.t', { t: 9 })).toBe(9);
    expect(at('$')).toBe(payload);
  });

  it('answers undefined for what is absent, never throws on the payload', () => {
    const at = (text: string) => valueAt(compilePath(text, 'x'), payload, payload);
    expect(at('$.missing')).toBeUndefined();
    expect(at('$.data[5].t')).toBeUndefined();
    expect(at('$.dev.length')).toBeUndefined();
    expect(at('$.data.t')).toBeUndefined();
    expect(at('$.constructor')).toBeUndefined();
  });

  it('refuses what is not a path, naming the field', () => {
    expect(() => compilePath('temperature', 'temperature')).toThrow(
      /temperature must be a JSON path/,
    );
    expect(() => compilePath('$.a[*]', 'humidity')).toThrow(/humidity: cannot read/);
  });
});

describe('time formats', () => {
  const utc = wallAsUtc;
  const t = '2026-01-05T10:00:00.000Z';
  const ms = Date.parse(t);

  it('reads epoch seconds, milliseconds and the 2000 epoch, as numbers or strings', () => {
    expect(timeReader('epoch_s')(ms / 1000, utc)).toBe(ms);
    expect(timeReader('epoch_s')(String(ms / 1000), utc)).toBe(ms);
    expect(timeReader('epoch_ms')(ms, utc)).toBe(ms);
    expect(timeReader('epoch_2000')(ms / 1000 - 946_684_800, utc)).toBe(ms);
    expect(timeReader('epoch_s')('soon', utc)).toBeUndefined();
  });

  it('reads ISO 8601 with an offset as it says, without one in the device’s zone', () => {
    const berlin = wallClockOf('Europe/Berlin');
    expect(timeReader('iso')('2026-01-05T11:00:00+01:00', berlin)).toBe(ms);
    expect(timeReader('iso')('2026-01-05T11:00:00', berlin)).toBe(ms);
    expect(timeReader('iso')('2026-07-05T12:00:00', berlin)).toBe(
      Date.parse('2026-07-05T10:00:00Z'),
    );
    expect(timeReader('auto')('2026-01-05T10:00:00', utc)).toBe(ms);
    expect(timeReader('auto')(ms, utc)).toBe(ms);
  });

  it('reads a pattern, in the device’s zone unless it has an offset token', () => {
    const read = timeReader('pattern', 'DD/MM/YYYY HH:mm:ss');
    expect(read('05/01/2026 10:00:00', utc)).toBe(ms);
    expect(read('05/01/2026 11:00:00', wallClockOf('+01:00'))).toBe(ms);
    expect(read('31/02/2026 10:00:00', utc)).toBeUndefined();
    expect(read('2026-01-05 10:00', utc)).toBeUndefined();
    const withOffset = timeReader('pattern', 'YYYYMMDDTHHmmssZ');
    expect(withOffset('20260105T120000+0200', utc)).toBe(ms);
  });

  it('refuses a pattern without the date and time it needs', () => {
    expect(() => timeReader('pattern', 'HH:mm')).toThrow(/lacks YYYY, MM, DD/);
  });
});
