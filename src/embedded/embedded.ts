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
import { provisioningDirs } from '../broker/dirs.js';
import { mqttUnset, type Config } from '../config/config.js';
import { int, str, type Env } from '../config/env.js';
import { ConfigError } from '../config/ConfigError.js';
import type { Logger } from '../log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { brokerCertificates } from './certificates.js';
import { assertFolderFree, embeddedUrlFile } from './databaseUrl.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './postgres.js';

/** The settings and environment the app starts with, pointing at the embedded parts. */
export interface Embedded {
  config: Config;
  env: Env;
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
  let pg: EmbeddedPostgres | undefined;
  let broker: EmbeddedBroker | undefined;
  const urlFile = embeddedUrlFile(config.anchor.dataDir);
  const close = async (): Promise<void> => {
    await broker?.close();
    if (pg) {
      await rm(urlFile, { force: true });
      await pg.close();
    }
  };
  const out: Embedded = {
    config,
    env,
    close,
    stopAccepting: () => broker?.stopAccepting(),
  };
  try {
    if (!config.databaseUrl) {
      await assertFolderFree(config.anchor.dataDir);
      pg = await startEmbeddedPostgres(config.anchor.dataDir, log);
      // Other commands of this folder (`heru verify`, `heru device`) reach it there.
      await writeFile(urlFile, `${pg.url.toString()}\n`, { mode: 0o600 });
      out.config = { ...config, databaseUrl: pg.url };
    }
    if (options.mqtt && mqttUnset(env)) {
      const certs = await brokerCertificates(provisioningDirs(env).pkiDir, log);
      broker = await startEmbeddedBroker(certs, brokerOptions(env), log);
      out.broker = { tlsPort: broker.ports.tls, caFile: certs.caFile };
      out.env = {
        ...env,
        MQTT_URL: `mqtts://localhost:${broker.ports.tls}`,
        MQTT_CA_FILE: certs.caFile,
        MQTT_PROTOCOL: '3.1.1',
      };
    }
  } catch (err) {
    await close();
    throw err;
  }
  logOfflineParts(config, env, log);
  return out;
}

function brokerOptions(env: Env): Parameters<typeof startEmbeddedBroker>[1] {
  const tlsPort = int(env, 'EMBEDDED_MQTTS_PORT', 8883, { min: 0, max: 65535 });
  const plain = str(env, 'EMBEDDED_MQTT_PORT');
  if (plain === 'off') return { tlsPort };
  const plainPort = int(env, 'EMBEDDED_MQTT_PORT', 1883, { min: 0, max: 65535 });
  if (plain !== undefined && !/^\d+$/.test(plain)) {
    throw new ConfigError('EMBEDDED_MQTT_PORT', 'a port number or off', plain);
  }
  return { tlsPort, plainPort };
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
