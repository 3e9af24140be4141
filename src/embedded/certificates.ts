import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createCa, issueServer } from '../pki/issue.js';
import { PkiStore } from '../pki/store.js';
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
  const store = new PkiStore(pkiDir);
  if (!(await exists(store.caCert))) {
    await createCa(store);
    log.info({ caFile: store.caCert }, 'embedded broker: fleet CA created');
  }
  const pair = store.pair('server');
  if (!(await exists(pair.cert))) {
    await issueServer(store, { names: ['localhost', '127.0.0.1', '::1', hostname()] });
    log.info({ certFile: pair.cert }, 'embedded broker: server certificate created');
  }
  return { caFile: store.caCert, certFile: pair.cert, keyFile: pair.key };
}
