/**
 * Issuing: the fleet CA, the broker's server certificate, and client certificates
 * (one per device, and one for the server's own ingest). A client certificate's
 * common name is its MQTT identity: the broker takes it as the username
 * (`use_identity_as_username`) and its ACL lets that name publish under its own id.
 */
import { isIP } from 'node:net';
import { RESERVED_DEVICE_IDS } from '../devices/registration.js';
import { isValidDeviceId } from '../ingest/deviceId.js';
import { fingerprintOf, generateKeyPair, newSerial, privateKeyPem } from './keys.js';
import { writeCrl } from './crl.js';
import {
  PkiError,
  type CertificateKind,
  type IssuedCertificate,
  type PkiStore,
} from './store.js';
import { SIGNING_ALGORITHM, x509, type CryptoKeyPair } from './x509.js';

const DAY_MS = 86_400_000;

/** Validity in days unless given: CA 10 years, broker and ingest about 2, devices 5. */
export const DEFAULT_DAYS = { ca: 3650, server: 825, ingest: 825, device: 1825 } as const;

/** When a certificate is valid; by default from now for the kind's default days. */
export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
  days?: number;
}

/** What was written: the index entry and the files (the key's content is never returned). */
export interface Issued {
  entry: IssuedCertificate;
  certFile: string;
  keyFile: string;
}

/** Creates the fleet CA; refuses to replace one unless `force` (every certificate would die). */
export async function createCa(
  store: PkiStore,
  opts: { name?: string; force?: boolean } & Validity = {},
): Promise<Issued> {
  const existing = await store.readIndex();
  if (!opts.force && existing.some((e) => e.kind === 'ca')) {
    throw new PkiError(
      `a CA already exists in ${store.dir}; replacing it invalidates every certificate it issued (pass --force to do so anyway)`,
    );
  }
  const keys = await generateKeyPair();
  const { notBefore, notAfter } = validity(opts, DEFAULT_DAYS.ca);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: [{ CN: [opts.name ?? 'Heru Fleet CA'] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await store.writeKey(store.caKey, await privateKeyPem(keys.privateKey));
  await store.writeCert(store.caCert, cert.toString('pem'));
  const entry = entryOf(cert, 'ca', 'ca.crt');
  await store.writeIndex([entry]);
  // The broker refuses to start on a `crlfile` that does not exist: write an empty one.
  await writeCrl(store);
  return { entry, certFile: store.caCert, keyFile: store.caKey };
}

/** The broker's certificate, naming every DNS name and address it is reached by. */
export async function issueServer(
  store: PkiStore,
  opts: { names: readonly string[] } & Validity,
): Promise<Issued> {
  if (opts.names.length === 0) {
    throw new PkiError(
      'name at least one DNS name or IP address the broker is reached by (--dns, --ip)',
    );
  }
  const san = opts.names.map(
    (n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n }) as const,
  );
  return issue(store, {
    kind: 'server',
    commonName: opts.names[0]!,
    usage: x509.ExtendedKeyUsage.serverAuth,
    extra: [new x509.SubjectAlternativeNameExtension(san)],
    validity: opts,
  });
}

/** A device's client certificate; its common name is the device id. */
export async function issueDevice(
  store: PkiStore,
  deviceId: string,
  opts: Validity & { force?: boolean } = {},
): Promise<Issued> {
  if (!isValidDeviceId(deviceId)) {
    throw new PkiError(
      `${JSON.stringify(deviceId)} is not a device id: 1–64 characters of [A-Za-z0-9._:-], starting with a letter or digit`,
    );
  }
  if (RESERVED_DEVICE_IDS.includes(deviceId.toLowerCase())) {
    throw new PkiError(
      `${deviceId} is reserved (the server's ingest user, or the first level of a topic format): a device certificate of that name would get its rights`,
    );
  }
  return issue(store, {
    kind: 'device',
    commonName: deviceId,
    usage: x509.ExtendedKeyUsage.clientAuth,
    extra: [],
    validity: opts,
    force: opts.force === true,
  });
}

/**
 * The client certificate of the server's ingest; its name is the ACL's ingest user.
 * Issuing it again replaces the files (the old one stays valid until revoked).
 */
export async function issueIngest(
  store: PkiStore,
  opts: Validity & { name: string },
): Promise<Issued> {
  return issue(store, {
    kind: 'ingest',
    commonName: opts.name,
    usage: x509.ExtendedKeyUsage.clientAuth,
    extra: [],
    validity: opts,
  });
}

interface IssueRequest {
  kind: 'server' | 'ingest' | 'device';
  commonName: string;
  usage: x509.ExtendedKeyUsage;
  extra: x509.Extension[];
  validity: Validity;
  /** Issue a device another certificate (the earlier one stays valid until revoked). */
  force?: boolean;
}

async function issue(store: PkiStore, req: IssueRequest): Promise<Issued> {
  const ca = await store.loadCa();
  const files = store.pair(req.kind, req.commonName);
  const index = await store.readIndex();
  const relative = files.cert.slice(store.dir.length + 1);
  const earlier = index.find((e) => e.file === relative && !e.revokedAt);
  if (req.kind === 'device' && earlier && !req.force) {
    throw new PkiError(
      `device ${req.commonName} already has a certificate (serial ${earlier.serial}, valid until ${earlier.notAfter}); pass --force to issue a new one (the old one stays valid until \`heru pki revoke ${earlier.serial}\`)`,
    );
  }
  const keys: CryptoKeyPair = await generateKeyPair();
  const { notBefore, notAfter } = validity(req.validity, DEFAULT_DAYS[req.kind]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: [{ CN: [req.commonName] }],
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([req.usage]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      ...req.extra,
    ],
  });
  await store.writeKey(files.key, await privateKeyPem(keys.privateKey));
  await store.writeCert(files.cert, cert.toString('pem'));
  const entry = entryOf(cert, req.kind, relative);
  await store.writeIndex([...index, entry]);
  return { entry, certFile: files.cert, keyFile: files.key };
}

function validity(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  // A minute back, so that a device whose clock is slightly behind accepts it.
  const notBefore = v.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter =
    v.notAfter ?? new Date(notBefore.getTime() + (v.days ?? defaultDays) * DAY_MS);
  if (notAfter <= notBefore)
    throw new PkiError('the certificate would end before it starts');
  return { notBefore, notAfter };
}

function entryOf(
  cert: x509.X509Certificate,
  kind: CertificateKind,
  file: string,
): IssuedCertificate {
  const cn = cert.subjectName.getField('CN')[0] ?? cert.subject;
  return {
    serial: cert.serialNumber.toLowerCase(),
    kind,
    name: cn,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    fingerprint: fingerprintOf(cert),
    file,
  };
}
