/**
 * A small certificate authority for TLS tests, made with the `openssl` command in a
 * temporary folder: a CA, a broker certificate for 127.0.0.1 and localhost, a client
 * certificate, an expired broker certificate, and a broker certificate from a second
 * CA that the server does not trust. Keys are P-256, certificates live two days.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of one certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA the server is given in MQTT_CA_FILE. */
  caFile: string;
  /** Broker certificate, SAN IP:127.0.0.1 and DNS:localhost. */
  server: CertFiles;
  /** The same names, valid only in January 2020. */
  expiredServer: CertFiles;
  /** The same names, signed by a CA the server does not know. */
  foreignServer: CertFiles;
  /** Client certificate for brokers that require one. */
  client: CertFiles;
  remove(): void;
}

const CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = .
certificate = ca.crt
private_key = ca.key
serial = ca.srl
default_md = sha256
policy = any_name
unique_subject = no
[ any_name ]
commonName = supplied
`;

/** True when the `openssl` command can be run. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes the certificates; throws when `openssl` is missing. */
export function createTestPki(): TestPki {
  if (!opensslAvailable()) {
    throw new Error(
      'the openssl command is needed to make test certificates; install the Debian package openssl',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'heru-pki-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  writeFileSync(join(dir, 'openssl.cnf'), CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'ca.srl'), '1000\n');

  makeCa(run, 'ca', 'Heru Test CA');
  makeCa(run, 'foreign-ca', 'Some Other CA');
  makeCsr(run, 'server', 'localhost');
  signWith(run, 'ca', 'server', 'server_ext');
  makeCsr(run, 'foreign-server', 'localhost');
  signWith(run, 'foreign-ca', 'foreign-server', 'server_ext');
  makeCsr(run, 'client', 'heru-ingest');
  signWith(run, 'ca', 'client', 'client_ext');
  makeCsr(run, 'expired-server', 'localhost');
  // `openssl x509` of OpenSSL 3.0 cannot set a start date; `openssl ca` can.
  // prettier-ignore
  run(
    'ca', '-batch', '-config', 'openssl.cnf', '-extensions', 'server_ext',
    '-startdate', '20200101000000Z', '-enddate', '20200201000000Z',
    '-notext', '-in', 'expired-server.csr', '-out', 'expired-server.crt',
  );

  const files = (name: string): CertFiles => ({
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
  });
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    server: files('server'),
    expiredServer: files('expired-server'),
    foreignServer: files('foreign-server'),
    client: files('client'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

type Run = (...args: string[]) => void;

function makeCa(run: Run, name: string, commonName: string): void {
  // prettier-ignore
  run(
    'req', '-x509', '-config', 'openssl.cnf', '-extensions', 'ca_ext',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2',
    '-subj', `/CN=${commonName}`,
  );
}

function makeCsr(run: Run, name: string, commonName: string): void {
  // prettier-ignore
  run(
    'req', '-new', '-config', 'openssl.cnf',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${commonName}`,
  );
}

function signWith(run: Run, ca: string, name: string, extensions: string): void {
  // prettier-ignore
  run(
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-days', '2', '-sha256',
    '-extfile', 'openssl.cnf', '-extensions', extensions, '-out', `${name}.crt`,
  );
}
