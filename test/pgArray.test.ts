import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boolArray,
  byteaArray,
  isoTime,
  numberArray,
  textArray,
  timeArray,
} from '../src/db/pgArray.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

describe('array literals written for bulk inserts', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url.toString() });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const roundTrip = async <T>(literal: string, type: string): Promise<T> => {
    const { rows } = await client.query<{ v: T }>(`select $1::${type} as v`, [literal]);
    return rows[0]!.v;
  };

  it('keeps text with quotes, backslashes, commas, braces, spaces and the word NULL', async () => {
    const values = [
      'plain',
      'a "quoted" word',
      'back\\slash',
      'a,b',
      '{x}',
      ' pad ',
      'NULL',
      '',
      null,
      'é ✓',
    ];
    expect(await roundTrip(textArray(values), 'text[]')).toEqual(values);
  });

  it('keeps numbers, nulls, NaN and infinities', async () => {
    const v = await roundTrip<number[]>(
      numberArray([1.5, -0.25, 12, null, 1e-7, NaN, Infinity]),
      'float8[]',
    );
    expect(v.slice(0, 5)).toEqual([1.5, -0.25, 12, null, 1e-7]);
    expect(v[5]).toBeNaN();
    expect(v[6]).toBe(Infinity);
  });

  it('keeps times to the millisecond, before 1970 too, and nulls', async () => {
    const times = [
      new Date('2026-01-05T10:00:00.007Z'),
      new Date('2026-01-05T10:00:00.999Z'),
      new Date('1969-12-31T23:59:59.500Z'),
      null,
      new Date('0001-01-01T00:00:00.000Z'),
    ];
    expect(await roundTrip(timeArray(times), 'timestamptz[]')).toEqual(times);
  });

  it('writes the same text as toISOString', () => {
    for (const ms of [0, 1, 999, 1000, -1, -1001, 1_767_607_200_123, 253_402_300_799_999])
      expect(isoTime(new Date(ms))).toBe(new Date(ms).toISOString());
  });

  it('keeps booleans and raw bytes', async () => {
    expect(await roundTrip(boolArray([true, false]), 'boolean[]')).toEqual([true, false]);
    const bytes = [Buffer.from([0, 1, 0x22, 0x5c, 0xff]), Buffer.alloc(0)];
    expect(await roundTrip(byteaArray(bytes), 'bytea[]')).toEqual(bytes);
  });
});
