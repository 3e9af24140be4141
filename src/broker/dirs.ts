import { join } from 'node:path';
import { str, type Env } from '../config/env.js';

/** Folders of the provisioning commands (`heru pki`, `heru broker-config`, `heru device`). */
export interface ProvisioningDirs {
  /** Certificates and keys: HERU_PKI_DIR, default `{HERU_DATA_DIR}/pki` (`./.heru/pki`). */
  pkiDir: string;
  /** The broker's files: HERU_BROKER_DIR, default `{HERU_DATA_DIR}/broker`. */
  brokerDir: string;
}

export function provisioningDirs(env: Env): ProvisioningDirs {
  const data = str(env, 'HERU_DATA_DIR') ?? '.heru';
  return {
    pkiDir: str(env, 'HERU_PKI_DIR') ?? join(data, 'pki'),
    brokerDir: str(env, 'HERU_BROKER_DIR') ?? join(data, 'broker'),
  };
}
