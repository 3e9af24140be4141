/**
 * The fleet's certificates on disk, under one folder (HERU_PKI_DIR):
 *
 *   ca.crt, ca.key             the fleet CA
 *   crl.pem                    revoked certificates, read by the broker (`crlfile`)
 *   server.crt, server.key     the broker's certificate
 *   ingest.crt, ingest.key     the server's own MQTT client (reads every device topic)
 *   devices/{id}.crt, .key     one client certificate per device
 *   index.json                 every certificate issued: serial, name, validity, revocation
 *
 * Private keys are written with mode 0600 (and the folders 0700) before a byte of them
 * is written, and replaced by rename, so no reader ever sees a key half written or
 * readable by others.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeWholeFile } from '../wholeFile.js';
import { importSigningKey } from './keys.js';
import { x509, type CryptoKey } from './x509.js';

/** What a certificate is for. */
export type CertificateKind = 'ca' | 'server' | 'ingest' | 'device';

/** One certificate this CA issued, as index.json keeps it. */
export interface IssuedCertificate {
  /** Hex serial number, lowercase. */
  serial: string;
  kind: CertificateKind;
  /** The subject's common name: the device id for a device. */
  name: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  /** The certificate file, relative to the PKI folder. */
  file: string;
  revokedAt?: string;
  reason?: string;
}

/** A PKI operation that cannot be done as asked; the message says what to do. */
export class PkiError extends Error {
  override readonly name = 'PkiError';
}

/** The CA, loaded for signing. */
export interface LoadedCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

export class PkiStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  get caCert(): string {
    return join(this.dir, 'ca.crt');
  }
  get caKey(): string {
    return join(this.dir, 'ca.key');
  }
  get crl(): string {
    return join(this.dir, 'crl.pem');
  }
  get index(): string {
    return join(this.dir, 'index.json');
  }

  /** Certificate and key paths of the broker (`server`), the ingest, or a device. */
  pair(kind: 'server' | 'ingest' | 'device', name = ''): { cert: string; key: string } {
    const base =
      kind === 'device' ? join(this.dir, 'devices', name) : join(this.dir, kind);
    return { cert: `${base}.crt`, key: `${base}.key` };
  }

  async loadCa(): Promise<LoadedCa> {
    let certPem: string;
    let keyPem: string;
    try {
      [certPem, keyPem] = await Promise.all([
        readFile(this.caCert, 'utf8'),
        readFile(this.caKey, 'utf8'),
      ]);
    } catch {
      throw new PkiError(
        `no CA in ${this.dir} (ca.crt and ca.key); create one with \`heru pki ca create\`, or set HERU_PKI_DIR to the folder that holds it`,
      );
    }
    return {
      cert: new x509.X509Certificate(certPem),
      key: await importSigningKey(keyPem),
    };
  }

  async readIndex(): Promise<IssuedCertificate[]> {
    try {
      return JSON.parse(await readFile(this.index, 'utf8')) as IssuedCertificate[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new PkiError(`${this.index} cannot be read: ${(err as Error).message}`);
    }
  }

  async writeIndex(entries: readonly IssuedCertificate[]): Promise<void> {
    await this.writeFileAtomic(
      this.index,
      `${JSON.stringify(entries, null, 2)}\n`,
      0o644,
    );
  }

  /** Writes a private key, readable by its owner only (0600). */
  async writeKey(path: string, pem: string): Promise<void> {
    await this.writeFileAtomic(path, pem, 0o600);
  }

  async writeCert(path: string, pem: string): Promise<void> {
    await this.writeFileAtomic(path, pem.endsWith('\n') ? pem : `${pem}\n`, 0o644);
  }

  private async writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeWholeFile(path, text, mode);
  }
}
