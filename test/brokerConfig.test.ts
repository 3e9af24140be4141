import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAcl } from '../src/broker/acl.js';
import { defaultBrokerOptions, renderMosquittoConf } from '../src/broker/brokerConfig.js';
import {
  hashPassword,
  readPasswordFile,
  removePassword,
  setPassword,
  verifyPassword,
} from '../src/broker/passwordFile.js';

describe("Mosquitto's password file", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'heru-passwd-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the $7$ PBKDF2-SHA512 hash that mosquitto_passwd writes', () => {
    const file = join(dir, 'theirs');
    execFileSync('mosquitto_passwd', ['-c', '-b', file, 'fridge-1', 'correct horse']);
    const line = readFileSync(file, 'utf8').trim();
    const hash = line.slice('fridge-1:'.length);
    expect(hash).toMatch(/^\$7\$101\$/);
    expect(verifyPassword('correct horse', hash)).toBe(true);
    expect(verifyPassword('wrong horse', hash)).toBe(false);
  });

  it('writes the same format: 12 bytes of salt and a 64-byte PBKDF2-SHA512 hash', () => {
    const hash = hashPassword('s3cret-for-test', 1000);
    const [, kind, iterations, salt, digest] = hash.split('$');
    expect([kind, iterations]).toEqual(['7', '1000']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(12);
    expect(Buffer.from(digest!, 'base64')).toHaveLength(64);
    expect(verifyPassword('s3cret-for-test', hash)).toBe(true);
  });

  it('adds, replaces and removes users in a file of mode 0600, never the password itself', async () => {
    const file = join(dir, 'ours');
    await setPassword(file, 'fridge-1', 'first-password');
    await setPassword(file, 'fridge-2', 'second-password');
    await setPassword(file, 'fridge-1', 'third-password');
    const users = await readPasswordFile(file);
    expect([...users.keys()]).toEqual(['fridge-1', 'fridge-2']);
    expect(verifyPassword('third-password', users.get('fridge-1')!)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toMatch(/password/);
    expect(await removePassword(file, 'fridge-2')).toBe(true);
    expect([...(await readPasswordFile(file)).keys()]).toEqual(['fridge-1']);
  });
});

describe('the generated broker configuration', () => {
  const opts = {
    ...defaultBrokerOptions('/etc/heru/broker', '/etc/heru/pki'),
    passwords: { port: 1883 },
  };
  const conf = renderMosquittoConf(opts);

  it('requires a client certificate on the device listener and takes its name as the username', () => {
    const devices = conf.slice(
      conf.indexOf('listener 8883'),
      conf.indexOf('listener 8884'),
    );
    expect(devices).toContain('require_certificate true');
    expect(devices).toContain('use_identity_as_username true');
    expect(devices).toContain('use_username_as_clientid true');
    expect(devices).toContain('crlfile /etc/heru/pki/crl.pem');
  });

  it('never allows anonymous access, and keeps persistence and the shipped queue limits', () => {
    expect(conf).toContain('allow_anonymous false');
    expect(conf).not.toContain('allow_anonymous true');
    expect(conf).toContain('persistence true');
    expect(conf).toMatch(/include_dir .*deploy\/mosquitto\/conf\.d/);
    expect(conf).toContain('password_file /etc/heru/broker/passwords');
  });

  it('lets each device publish only under its own id, and the ingest user read everything', () => {
    const acl = renderAcl({ ingestUser: 'heru-ingest', extraPatterns: ['site/%u/temp'] });
    for (const p of [
      'heru/v1/devices/%u/#',
      'heru/sensors/%u',
      'heru/sensors/%u/backlog',
      'tele/%u/SENSOR',
      '%u/sensor/+/state',
      'site/%u/temp',
    ])
      expect(acl).toContain(`pattern write ${p}\n`);
    expect(acl).not.toMatch(/pattern (read|readwrite)/);
    expect(acl).toMatch(/user heru-ingest\ntopic read #\n/);
  });
});
