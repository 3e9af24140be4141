/**
 * The embedded default: each part whose variable is unset runs inside the process,
 * and says so at start with one info line.
 *
 *   DATABASE_URL unset  → PGlite under HERU_DATA_DIR, served on a loopback port
 *   MQTT_URL unset      → Aedes with TLS (EMBEDDED_MQTTS_PORT), ingest speaks 3.1.1
 *   REDIS_URL unset     → the in-process job queue (src/queue/memoryQueue.ts)
 *   no Pinata / Hedera  → the local IPFS store and local ledger (src/anchor/setup.ts)
 *
 * Each is replaced by the real one when its variable is set, one at a time.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { provisioningDirs } from '../broker/dirs.js';
import { mqttClientId, mqttUnset, type Config } from '../config/config.js';
import { readEmbeddedConfig, type EmbeddedConfig } from '../config/embeddedConfig.js';
import { str, type Env } from '../config/env.js';
import type { Logger } from '../log.js';
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from './broker.js';
import { INTERNAL_USERS } from './brokerAuth.js';
import { brokerCertificates, type BrokerCertificates } from './certificates.js';
import { assertFolderFree, embeddedUrlFile } from './databaseUrl.js';
import { DEFAULT_TEMPLATE_DIR } from './pgTemplate.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './postgres.js';

/** The settings and environment the app starts with, pointing at the embedded parts. */
export interface Embedded {
  config: Config;
  env: Env;
  /** The environment of `--simulate`'s devices: the broker, and how to reach it. */
  simulationEnv: Env;
  /** The embedded broker's TLS port and CA, when it runs. */
  broker?: { tlsPort: number; caFile: string };
  /** Stops taking messages in (first step of a stop); queued ones still flow out. */
  stopAccepting(): void;
  close(): Promise<void>;
}

/** Starts what is not configured; `mqtt` is false for roles without ingest. */
export async function startEmbedded(
  config: Config,
  env: Env,
  log: Logger,
  options: { mqtt: boolean },
): Promise<Embedded> {
  const settings = readEmbeddedConfig(env);
  const urlFile = embeddedUrlFile(config.anchor.dataDir);
  // The database and the broker do not wait for each other: PGlite's start is mostly
  // disk and WebAssembly, the broker's the certificates.
  const [pg, broker] = await Promise.allSettled([
    config.databaseUrl ? undefined : startPostgres(config.anchor.dataDir, settings, log),
    options.mqtt && mqttUnset(env) ? startBroker(env, settings, log) : undefined,
  ]);
  const close = async (): Promise<void> => {
    if (broker.status === 'fulfilled') await broker.value?.broker.close();
    if (pg.status === 'fulfilled' && pg.value) {
      await rm(urlFile, { force: true });
      await pg.value.close();
    }
  };
  if (pg.status === 'rejected' || broker.status === 'rejected') {
    await close();
    throw pg.status === 'rejected' ? pg.reason : (broker as PromiseRejectedResult).reason;
  }
  const out: Embedded = {
    config,
    env,
    simulationEnv: env,
    close,
    stopAccepting: () => broker.value?.broker.stopAccepting(),
  };
  try {
    if (pg.value) {
      // Other commands of this folder (`heru verify`, `heru device`) reach it there.
      await writeFile(urlFile, `${pg.value.url.toString()}\n`, { mode: 0o600 });
      out.config = { ...config, databaseUrl: pg.value.url };
    }
  } catch (err) {
    await close();
    throw err;
  }
  if (broker.value) {
    const { broker: b, certs } = broker.value;
    out.broker = { tlsPort: b.ports.tls, caFile: certs.caFile };
    // The server's own clients: over TLS, as the user of their role, with the secret
    // of this start; whatever MQTT_* a `.env` holds for another broker is not for this one.
    const client = (role: keyof typeof INTERNAL_USERS): Env => ({
      ...env,
      MQTT_URL: `mqtts://localhost:${b.ports.tls}`,
      MQTT_CA_FILE: certs.caFile,
      MQTT_CERT_FILE: '',
      MQTT_KEY_FILE: '',
      MQTT_USERNAME: INTERNAL_USERS[role],
      MQTT_PASSWORD: b.secret,
      MQTT_PROTOCOL: '3.1.1',
    });
    out.env = client('ingest');
    out.simulationEnv = client('simulate');
  }
  logOfflineParts(config, env, log);
  return out;
}

async function startPostgres(
  dataDir: string,
  settings: EmbeddedConfig,
  log: Logger,
): Promise<EmbeddedPostgres> {
  await assertFolderFree(dataDir);
  const template =
    settings.pgTemplate === 'off'
      ? undefined
      : (settings.pgTemplate ?? DEFAULT_TEMPLATE_DIR);
  return startEmbeddedPostgres(dataDir, template, log);
}

async function startBroker(
  env: Env,
  settings: EmbeddedConfig,
  log: Logger,
): Promise<{ broker: EmbeddedBroker; certs: BrokerCertificates }> {
  const dirs = provisioningDirs(env);
  const certs = await brokerCertificates(dirs.pkiDir, log);
  const options: EmbeddedBrokerOptions = {
    tlsPort: settings.tlsPort,
    ...(settings.plainPort === undefined ? {} : { plainPort: settings.plainPort }),
    plainPortRequired: settings.plainPortSet,
    auth: {
      mode: settings.mqttAuth,
      crlFile: path.join(dirs.pkiDir, 'crl.pem'),
      passwordFile: path.join(dirs.brokerDir, 'passwords'),
      ingestClientId: mqttClientId(env),
      extraPatterns: settings.aclPatterns,
    },
  };
  const broker = await startEmbeddedBroker(certs, options, log);
  return { broker, certs };
}

function logOfflineParts(config: Config, env: Env, log: Logger): void {
  if (!config.anchor.redisUrl) {
    log.info('embedded job queue (in process): REDIS_URL is not set');
  }
  const ipfs = ['PINATA_JWT', 'PINATA_API_KEY', 'IPFS_API_URL'].some(
    (k) => str(env, k) !== undefined,
  );
  if (!ipfs) {
    log.info(
      { dir: config.anchor.dataDir },
      'embedded IPFS store (local): PINATA_JWT / IPFS_API_URL are not set',
    );
  }
  if (str(env, 'HEDERA_ACCOUNT_ID') === undefined) {
    log.info('embedded ledger (local, in PostgreSQL): HEDERA_ACCOUNT_ID is not set');
  }
}
