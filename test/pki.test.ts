import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCrl, revoke } from '../src/pki/crl.js';
import { listExpiring } from '../src/pki/expiring.js';
import { createCa, issueDevice, issueServer } from '../src/pki/issue.js';
import { PkiError, PkiStore } from '../src/pki/store.js';

const DAY = 86_400_000;

/** Runs `openssl` and answers its output and exit status. */
function openssl(...args: string[]): { out: string; ok: boolean } {
  try {
    const out = execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });
    return { out, ok: true };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { out: `${e.stdout ?? ''}${e.stderr ?? ''}`, ok: false };
  }
}

describe('the fleet PKI', () => {
  let dir: string;
  let store: PkiStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heru-pki-test-'));
    store = new PkiStore(join(dir, 'pki'));
    await createCa(store, { name: 'Test Fleet CA' });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues a device certificate whose common name is the device id, signed by the CA', async () => {
    const issued = await issueDevice(store, 'fridge-7');
    const text = openssl(
      'x509',
      '-in',
      issued.certFile,
      '-noout',
      '-subject',
      '-ext',
      'extendedKeyUsage',
    );
    expect(text.out).toContain('CN = fridge-7');
    expect(text.out).toContain('TLS Web Client Authentication');
    expect(openssl('verify', '-CAfile', store.caCert, issued.certFile).ok).toBe(true);
    expect(issued.entry.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes every private key with mode 0600 in folders only their owner can enter', async () => {
    const server = await issueServer(store, { names: ['broker.example', '127.0.0.1'] });
    const device = await issueDevice(store, 'fridge-8');
    for (const key of [store.caKey, server.keyFile, device.keyFile])
      expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(store.dir, 'devices')).mode & 0o777).toBe(0o700);
  });

  it("names the broker's DNS names and addresses in its certificate", async () => {
    const issued = await issueServer(store, {
      names: ['broker.example', '10.0.0.5', '::1'],
    });
    const { out } = openssl(
      'x509',
      '-in',
      issued.certFile,
      '-noout',
      '-ext',
      'subjectAltName,extendedKeyUsage',
    );
    expect(out).toContain('DNS:broker.example');
    expect(out).toContain('IP Address:10.0.0.5');
    expect(out).toContain('IP Address:0:0:0:0:0:0:0:1');
    expect(out).toContain('TLS Web Server Authentication');
  });

  it('revokes a device into a CRL that OpenSSL reads and enforces', async () => {
    const revoked = await issueDevice(store, 'fridge-9');
    const kept = await issueDevice(store, 'fridge-10');
    const done = await revoke(store, 'fridge-9', 'keyCompromise');
    expect(done.map((e) => e.serial)).toEqual([revoked.entry.serial]);

    const crl = openssl('crl', '-in', store.crl, '-noout', '-text');
    expect(crl.ok).toBe(true);
    expect(crl.out.toLowerCase()).toContain(revoked.entry.serial);
    expect(crl.out).toContain('Key Compromise');
    const check = (cert: string) =>
      openssl(
        'verify',
        '-crl_check',
        '-CAfile',
        store.caCert,
        '-CRLfile',
        store.crl,
        cert,
      );
    expect(check(revoked.certFile).out).toContain('certificate revoked');
    expect(check(kept.certFile).ok).toBe(true);
    expect((await readCrl(store))?.findRevoked(revoked.entry.serial)).not.toBeNull();
  });

  it('revokes by serial number too, and says so when nothing matches', async () => {
    const issued = await issueDevice(store, 'fridge-11');
    const done = await revoke(store, issued.entry.serial);
    expect(done).toHaveLength(1);
    await expect(revoke(store, issued.entry.serial)).rejects.toThrow(
      /no valid certificate/,
    );
  });

  it('lists what ends within N days, expired ones included, soonest first', async () => {
    const now = Date.now();
    await issueDevice(store, 'old-logger', {
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-02-01T00:00:00Z'),
    });
    await issueDevice(store, 'soon', { notBefore: new Date(now - DAY), days: 20 });
    const within30 = await listExpiring(store, 30);
    expect(within30.map((e) => e.name)).toEqual(['old-logger', 'soon']);
    expect(within30[0]!.daysLeft).toBeLessThan(0);
    expect(within30[1]!.daysLeft).toBeGreaterThanOrEqual(18);
    // The CRL is re-signed for a year; within 400 days it is listed too.
    expect((await listExpiring(store, 400)).map((e) => e.kind)).toContain('crl');
  });

  it('refuses to replace the CA, to issue twice for a device, or an invalid device id', async () => {
    await expect(createCa(store)).rejects.toBeInstanceOf(PkiError);
    await expect(issueDevice(store, 'fridge-7')).rejects.toThrow(
      /already has a certificate/,
    );
    await expect(issueDevice(store, 'bad/id')).rejects.toThrow(/not a device id/);
    await expect(issueDevice(store, 'heru-ingest')).rejects.toThrow(/reserved/);
    const renewed = await issueDevice(store, 'fridge-7', { force: true });
    expect(openssl('verify', '-CAfile', store.caCert, renewed.certFile).ok).toBe(true);
  });

  it('says how to make a CA when there is none', async () => {
    const empty = new PkiStore(join(dir, 'empty'));
    await expect(issueDevice(empty, 'x1')).rejects.toThrow(/heru pki ca create/);
  });
});
