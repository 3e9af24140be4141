import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let db: TestDatabase;
let dir: string;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `heru profile …` from the sources against the test database. */
function heru(...args: string[]): Promise<Exit> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'profile', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url.toString(), LOG_LEVEL: 'warn' },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'heru-profile-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

describe('heru profile', () => {
  it('gives a device a profile and shows who changed it', async () => {
    const set = await heru(
      'set',
      'clinic-7',
      'freezer',
      '--by',
      'qm.anna',
      '--comment',
      'moved',
    );
    expect([set.code, set.stdout.trim()]).toEqual([
      0,
      'clinic-7: vaccine_fridge -> freezer',
    ]);
    const get = await heru('get', 'clinic-7');
    expect(JSON.parse(get.stdout)).toMatchObject({
      profile: 'freezer',
      assigned_by: 'qm.anna',
    });
    const history = await heru('history', 'clinic-7');
    expect(history.stdout).toMatch(/ qm\.anna: vaccine_fridge -> freezer \(moved\)\n$/);
  });

  it('creates a profile from a rules file and refuses a bad one, naming each problem', async () => {
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ range: { low: 15, high: 25 }, offline: { minutes: 60 } }),
    );
    const put = await heru('put', 'shelf', '--file', good, '--by', 'qm.anna');
    expect([put.code, put.stdout.trim()]).toEqual([0, 'created profile shelf']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ range: { low: 25, high: 15 } }));
    const refused = await heru('put', 'shelf', '--file', bad, '--by', 'qm.anna');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('rules.range low must be below high');
  });

  it('explains itself when the command is unknown', async () => {
    const r = await heru('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('heru profile <command>');
  });
});
