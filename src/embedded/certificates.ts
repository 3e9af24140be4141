import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';

/** Paths of the embedded broker's TLS files. */
export interface BrokerCertificates {
  /** The CA devices and ingest trust (`--cafile` of mosquitto_pub). */
  caFile: string;
  certFile: string;
  keyFile: string;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * The CA and the broker's certificate under `pkiDir` (HERU_PKI_DIR, default
 * `.heru/pki`): those of `heru pki` when they exist, created on first start
 * otherwise. The server certificate names localhost, 127.0.0.1, ::1 and this host.
 */
export async function brokerCertificates(
  pkiDir: string,
  log: Logger,
): Promise<BrokerCertificates> {
  // The names of src/pki/store.ts. The PKI code (and its X.509 library, slow to
  // load) is imported only when something has to be created.
  const dir = resolve(pkiDir);
  const files = {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
  const [ca, server] = await Promise.all([exists(files.caFile), exists(files.certFile)]);
  if (ca && server) return files;
  const [{ createCa, issueServer }, { PkiStore }] = await Promise.all([
    import('../pki/issue.js'),
    import('../pki/store.js'),
  ]);
  const store = new PkiStore(dir);
  if (!ca) {
    await createCa(store);
    log.info({ caFile: store.caCert }, 'embedded broker: fleet CA created');
  }
  if (!server) {
    await issueServer(store, { names: ['localhost', '127.0.0.1', '::1', hostname()] });
    log.info({ certFile: files.certFile }, 'embedded broker: server certificate created');
  }
  return files;
}
