/**
 * Revocation: the certificate revocation list the broker reads (`crlfile`). The CRL
 * is rewritten whole from index.json on every revocation; the broker reads it again
 * on SIGHUP (Mosquitto 2.0 reloads its certificates then), so that a revoked device
 * cannot open a new connection.
 *
 * A CRL past its nextUpdate makes OpenSSL refuse every client certificate, so the
 * whole fleet would be locked out: `heru pki expiring` lists the CRL with the
 * certificates, and `heru pki crl` signs it again.
 */
import { readFile } from 'node:fs/promises';
import { PkiError, type IssuedCertificate, type PkiStore } from './store.js';
import { SIGNING_ALGORITHM, x509 } from './x509.js';

const DAY_MS = 86_400_000;

/** Days a CRL stays valid, default 365; re-sign it before then (`heru pki crl`). */
export const CRL_DAYS = 365;

/** The reasons RFC 5280 names, as the CLI accepts them. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/**
 * Revokes by serial number, or every valid certificate of a device id (a device may
 * hold a renewed one beside the old), then writes the CRL. Returns what was revoked.
 */
export async function revoke(
  store: PkiStore,
  idOrSerial: string,
  reason: RevocationReason = 'unspecified',
  at = new Date(),
): Promise<IssuedCertificate[]> {
  const index = await store.readIndex();
  const wanted = idOrSerial.toLowerCase().replace(/:/g, '');
  const hits = index.filter(
    (e) =>
      e.kind !== 'ca' &&
      !e.revokedAt &&
      (e.serial === wanted || (e.kind === 'device' && e.name === idOrSerial)),
  );
  if (hits.length === 0) {
    throw new PkiError(
      `no valid certificate with serial or device id ${JSON.stringify(idOrSerial)}; \`heru pki list\` shows them`,
    );
  }
  // Whole seconds: RFC 5280 times carry no fractions.
  const when = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString();
  for (const e of hits) {
    e.revokedAt = when;
    e.reason = reason;
  }
  await store.writeIndex(index);
  await writeCrl(store, at);
  return hits;
}

/** Signs the CRL again from the index (after a revocation, or before it expires). */
export async function writeCrl(store: PkiStore, now = new Date()): Promise<x509.X509Crl> {
  const ca = await store.loadCa();
  const revoked = (await store.readIndex()).filter((e) => e.revokedAt !== undefined);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + CRL_DAYS * DAY_MS),
    signingKey: ca.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
    entries: revoked.map((e) => ({
      serialNumber: e.serial,
      revocationDate: new Date(e.revokedAt!),
      reason: x509.X509CrlReason[(e.reason ?? 'unspecified') as RevocationReason],
      // The library writes an empty (invalid) extension list for the reason
      // `unspecified`, which RFC 5280 wants absent; the invalidity date fills it.
      invalidity: new Date(e.revokedAt!),
    })),
  });
  // OpenSSL reads the label `X509 CRL`; the library's own PEM says `CRL`.
  await store.writeCert(store.crl, x509.PemConverter.encode(crl.rawData, 'X509 CRL'));
  return crl;
}

/** The CRL as written, or undefined when there is none yet. */
export async function readCrl(store: PkiStore): Promise<x509.X509Crl | undefined> {
  try {
    return new x509.X509Crl(await readFile(store.crl, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
