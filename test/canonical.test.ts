import { describe, expect, it } from 'vitest';
import { CanonicalizationError, canonicalize } from '../src/anchor/canonical.js';
import {
  canonicalReading,
  readingBytes,
  readingLeaf,
  readingText,
  type CanonicalReadingRow,
} from '../src/anchor/canonicalReading.js';

const fromBits = (hex: string): number => Buffer.from(hex, 'hex').readDoubleBE(0);

// IEEE 754 bit patterns and their ECMAScript serialization (RFC 8785, appendix B).
const NUMBERS: Array<[string, string]> = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];

const READING: CanonicalReadingRow = {
  id: '9007199254740993',
  device_id: 'esp32_sensor_01',
  sensor: '',
  time: '2026-01-02T03:04:05.678901Z',
  time_source: 'device',
  device_time: '2026-01-02T03:04:05.678901Z',
  received_at: '2026-01-02T03:04:06.000000Z',
  boot: '3',
  seq: '41',
  temperature_c: 4.5,
  humidity_pct: 45.6,
  battery_pct: null,
  battery_v: 3.7,
  rssi_dbm: -67,
  quality: 'good',
  flags: [],
  raw_message_id: '12',
};

describe('RFC 8785 canonical JSON', () => {
  it.each(NUMBERS)('serializes the double with bits %s as %s', (bits, text) => {
    expect(canonicalize(fromBits(bits))).toBe(text);
  });

  it('refuses NaN and the infinities, naming where they are', () => {
    expect(() => canonicalize({ a: [1, Number.NaN] })).toThrow(/\$\.a\[1\] is NaN/);
    expect(() => canonicalize(fromBits('7ff0000000000000'))).toThrow(
      CanonicalizationError,
    );
    expect(() => canonicalize(-Infinity)).toThrow(CanonicalizationError);
  });

  it('sorts member names by UTF-16 code units, not by code points or locale', () => {
    const obj = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(obj)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('escapes strings the way RFC 8785 asks and keeps other characters as they are', () => {
    expect(canonicalize('\u0000\b\t\n\f\r"\\/\u001f\u007f\u2028é€😀')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f\u2028é€😀"',
    );
  });

  it('refuses a string with a lone surrogate', () => {
    expect(() => canonicalize('ab\ud800')).toThrow(/lone UTF-16 surrogate/);
    expect(() => canonicalize({ ['\udc00']: 1 })).toThrow(CanonicalizationError);
  });

  it('writes nested objects and arrays without whitespace', () => {
    expect(canonicalize({ b: [true, null, { d: 1, c: 'x' }], a: {} })).toBe(
      '{"a":{},"b":[true,null,{"c":"x","d":1}]}',
    );
  });
});

describe('the canonical form of a reading', () => {
  it('gives fixed bytes: sorted fields, 64-bit ids as strings, microsecond UTC times', () => {
    expect(readingBytes(READING).toString('utf8')).toBe(
      '{"battery_pct":null,"battery_v":3.7,"boot":"3","device_id":"esp32_sensor_01",' +
        '"device_time":"2026-01-02T03:04:05.678901Z","flags":[],"humidity_pct":45.6,' +
        '"id":"9007199254740993","quality":"good","raw_message_id":"12",' +
        '"received_at":"2026-01-02T03:04:06.000000Z","rssi_dbm":-67,"sensor":"","seq":"41",' +
        '"temperature_c":4.5,"time":"2026-01-02T03:04:05.678901Z","time_source":"device"}',
    );
  });

  it('gives another leaf when the temperature changes by 0.1 °C', () => {
    const changed = { ...READING, temperature_c: 4.6 };
    expect(readingLeaf(changed).equals(readingLeaf(READING))).toBe(false);
  });

  it('ignores fields that are not stored columns', () => {
    const extra = { ...READING, natural_key: 'x' } as CanonicalReadingRow;
    expect(readingLeaf(extra)).toEqual(readingLeaf(READING));
  });

  it('writes the same text as the generic canonicalizer for unusual values', () => {
    const odd: Array<Partial<CanonicalReadingRow>> = [
      { temperature_c: -0, humidity_pct: 1e21, battery_v: 5e-324 },
      { temperature_c: -127, humidity_pct: 0.1 + 0.2, rssi_dbm: -120, battery_pct: 100 },
      {
        device_id: 'fr\u00e9zer-\u20ac-\ud83d\ude00',
        sensor: 'probe "A"\\\n\u2028',
        flags: ['power_on_value', 'x\u0001'],
      },
      { device_time: null, boot: null, seq: null, flags: [] },
    ];
    for (const change of odd) {
      const row = { ...READING, ...change };
      expect(readingText(row)).toBe(canonicalize(canonicalReading(row)));
    }
  });

  it('refuses a reading with NaN or a lone surrogate, as the generic canonicalizer does', () => {
    expect(() => readingText({ ...READING, temperature_c: Number.NaN })).toThrow(
      CanonicalizationError,
    );
    expect(() => readingText({ ...READING, sensor: 'a\udc00' })).toThrow(
      CanonicalizationError,
    );
  });
});
