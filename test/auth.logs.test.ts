/**
 * No private key, password or token reaches a log line: the server logs at `trace`
 * into a buffer while tokens, device passwords and certificates are made and used
 * (through the API and the command line), and every line is then searched for them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePassword, setPassword } from '../src/broker/passwordFile.js';
import { createLogger } from '../src/log.js';
import { createCa, issueDevice } from '../src/pki/issue.js';
import { PkiStore } from '../src/pki/store.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const SMTP_PASSWORD = 'smtp-pass-71c0aa';

let db: TestDatabase;
let app: TestApp;
let dir: string;
const logLines: string[] = [];
/** Every secret made during the run; none may appear in `logLines`. */
const secrets: string[] = [SMTP_PASSWORD];

const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

/** Runs `heru …` at log level trace; keeps its JSON log lines, returns its stdout. */
async function heru(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', ...args],
    {
      cwd: REPO,
      env: {
        ...process.env,
        DATABASE_URL: db.url.toString(),
        LOG_LEVEL: 'trace',
        HERU_DATA_DIR: dir,
      },
      timeout: 60_000,
    },
  );
  for (const line of `${stdout}\n${stderr}`.split('\n')) {
    if (line.startsWith('{') && line.includes('"level"')) logLines.push(line);
  }
  return stdout;
}

/** The base64 lines of a PEM private key: any of them in a log would leak it. */
function keyLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length >= 40 && !l.startsWith('-----'));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'heru-auth-logs-'));
  db = await createTestDatabase();
  app = await startTestApp({
    databaseUrl: db.url,
    env: {
      SMTP_URL: `smtp://alarms:${SMTP_PASSWORD}@127.0.0.1:2525`,
      SMTP_FROM: 'alarms@example.org',
      LOG_LEVEL: 'trace',
    },
    log: createLogger('trace', sink),
  });
  secrets.push(app.token);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the logs of a run with tokens, device passwords and certificates', () => {
  it('hold none of them', async () => {
    // Tokens through the API: made, used, revoked, used again; a forged one.
    const made = await app.api('/api/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'log-check', role: 'viewer' }),
    });
    const viewer = (await made.json()) as { id: string; token: string };
    secrets.push(viewer.token);
    const asViewer = { headers: { authorization: `Bearer ${viewer.token}` } };
    expect((await fetch(`${app.baseUrl}/api/v1/devices`, asViewer)).status).toBe(200);
    await app.api(`/api/v1/tokens/${viewer.id}`, { method: 'DELETE' });
    expect((await fetch(`${app.baseUrl}/api/v1/devices`, asViewer)).status).toBe(401);
    const forged = `heru_${'Z'.repeat(43)}`;
    secrets.push(forged);
    await fetch(`${app.baseUrl}/api/v1/alarms`, {
      headers: { authorization: `Bearer ${forged}` },
    });

    // A device password and a device certificate, registered through the API.
    const password = generatePassword();
    secrets.push(password);
    await setPassword(join(dir, 'passwords'), 'pw-fridge', password);
    const store = new PkiStore(join(dir, 'pki-api'));
    const ca = await createCa(store, {});
    const cert = await issueDevice(store, 'cert-fridge');
    secrets.push(...keyLines(ca.keyFile), ...keyLines(cert.keyFile));
    const register = (body: object) =>
      app.api('/api/v1/devices', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (await register({ device_id: 'pw-fridge', credentials: 'password' })).status,
    ).toBe(201);
    expect(
      (
        await register({
          device_id: 'cert-fridge',
          cert_fingerprint: cert.entry.fingerprint,
        })
      ).status,
    ).toBe(201);
    // A client that sends a password where none belongs: not kept, not echoed.
    const wrong = await register({ device_id: 'leaky', password });
    expect(await wrong.text()).not.toContain(password);

    // The same from the command line.
    const cliToken = (await heru('token', 'create', '--role', 'admin', '--name', 'cli'))
      .trim()
      .split('\n')
      .at(-1)!;
    expect(cliToken).toMatch(/^heru_/);
    secrets.push(cliToken);
    const asCli = { headers: { authorization: `Bearer ${cliToken}` } };
    expect((await fetch(`${app.baseUrl}/api/v1/tokens`, asCli)).status).toBe(200);
    const listed = await heru('token', 'list');
    expect(listed).toContain('admin     cli');
    expect(listed).not.toContain(cliToken);
    expect(await heru('token', 'revoke', 'cli')).toMatch(/token \d+ "cli" revoked/);
    expect((await fetch(`${app.baseUrl}/api/v1/tokens`, asCli)).status).toBe(401);

    await heru('pki', 'ca', 'create');
    await heru('pki', 'device', 'cli-fridge');
    secrets.push(
      ...keyLines(join(dir, 'pki', 'ca.key')),
      ...keyLines(join(dir, 'pki', 'devices', 'cli-fridge.key')),
    );
    const added = await heru('device', 'add', 'pw-cli', '--password');
    const cliPassword = /password \(shown once[^:]*\): (\S+)/.exec(added)?.[1];
    expect(cliPassword).toBeDefined();
    secrets.push(cliPassword!);

    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.join('\n')).toContain('device registered');
    const leaks = logLines.filter(
      (line) =>
        line.includes('PRIVATE KEY') ||
        secrets.some((s) => s.length > 0 && line.includes(s)),
    );
    expect(leaks).toEqual([]);
  }, 120_000);
});
