import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { provisioningDirs } from '../../broker/dirs.js';
import { mqttUnset, readMqttConfig } from '../../config/config.js';
import { loadEnv, oneOf, str, type Env } from '../../config/env.js';
import { createLogger, type Logger } from '../../log.js';
import { runLive } from '../../simulate/live.js';
import { readLoggerFile, toHeruV1 } from '../../simulate/loggerFile.js';
import {
  parseSimulateArgs,
  SIMULATE_HELP,
  UsageError,
  type ConnectionOptions,
  type LiveCommand,
  type ReplayCommand,
} from '../../simulate/options.js';
import { Publisher, type PublisherOptions } from '../../simulate/publisher.js';
import { replay } from '../../simulate/replay.js';

/** `heru simulate`: simulated devices, or a logger file replayed as one device. */
export async function runSimulate(args: string[]): Promise<void> {
  let command;
  try {
    command = parseSimulateArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`heru simulate: ${err.message} (see heru simulate --help)`);
    process.exitCode = 2;
    return;
  }
  if (command.mode === 'help') {
    console.log(SIMULATE_HELP);
    return;
  }
  const env = loadEnv();
  const log = createLogger(
    oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    process.stderr,
  );
  // Parse the file before connecting: a bad file should not cost a connection.
  const file =
    command.mode === 'replay'
      ? readLoggerFile(command.file, fileOptions(command))
      : undefined;
  const publisher = await Publisher.connect(publisherOptions(env, command), log);
  const stop = stopOnSignal(log);
  try {
    if (command.mode === 'live') await live(command, publisher, stop.signal, log);
    else if (file) await replayFile(command, file, publisher, stop.signal, log);
  } finally {
    stop.dispose();
    await publisher.close();
  }
}

async function live(
  command: LiveCommand,
  publisher: Publisher,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const seed = command.seed ?? randomInt(0, 2 ** 31);
  const s = await runLive({ ...command, seed, signal }, publisher, log);
  const secs = s.elapsedMs / 1000;
  console.log(
    `simulated ${s.devices} device(s) for ${secs.toFixed(1)} s (seed ${seed}): ` +
      `${s.readings} readings taken, ${s.published} published in ${s.messages} messages ` +
      `(${s.bursts} bursts after offline periods, ${s.lost} lost offline, ${s.failed} failed)`,
  );
}

async function replayFile(
  command: ReplayCommand,
  file: ReturnType<typeof readLoggerFile>,
  publisher: Publisher,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const options = { deviceId: file.deviceId, batchSize: command.batchSize, signal };
  const s = await replay(
    toHeruV1(file.readings),
    publisher,
    command.rate === undefined ? options : { ...options, rate: command.rate },
    log.child({ device: file.deviceId, file: command.file }),
  );
  const secs = s.elapsedMs / 1000;
  console.log(
    `replayed ${s.acknowledged} of ${s.readings} readings (${file.format}) as device ` +
      `${s.deviceId}: ${s.messages} message${s.messages === 1 ? '' : 's'} ` +
      `in ${secs.toFixed(2)} s, ` +
      `${Math.round(s.acknowledged / Math.max(secs, 0.001))} readings/s` +
      (s.complete ? '' : ' (stopped before the end)'),
  );
  if (!s.complete) process.exitCode = 1;
}

function fileOptions(c: ReplayCommand): { deviceId?: string; tz: string } {
  return c.deviceId === undefined ? { tz: c.tz } : { tz: c.tz, deviceId: c.deviceId };
}

/** Broker address, TLS and credentials from the environment, --url winning. */
function publisherOptions(env: Env, c: ConnectionOptions): PublisherOptions {
  const given = c.url ? { ...env, MQTT_URL: c.url.toString() } : env;
  const mqtt = readMqttConfig(mqttUnset(given) ? embeddedBroker(given) : given);
  const out: PublisherOptions = {
    url: mqtt.url,
    // Never the ingest's MQTT_CLIENT_ID: taking it would end the ingest's session.
    clientId: c.clientId ?? `heru-sim-${randomBytes(4).toString('hex')}`,
    maxInFlight: 32,
    protocolVersion: mqtt.protocolVersion,
  };
  for (const k of ['username', 'password', 'caFile', 'certFile', 'keyFile'] as const) {
    const v = mqtt[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * With no broker named, the embedded one of a server started by `npm start` on this
 * folder: TLS on EMBEDDED_MQTTS_PORT (8883) with the CA it created, MQTT 3.1.1.
 */
function embeddedBroker(env: Env): Env {
  const caFile = join(provisioningDirs(env).pkiDir, 'ca.crt');
  if (!existsSync(caFile)) return env;
  const port = str(env, 'EMBEDDED_MQTTS_PORT') ?? '8883';
  return {
    ...env,
    MQTT_URL: `mqtts://localhost:${port}`,
    MQTT_CA_FILE: str(env, 'MQTT_CA_FILE') ?? caFile,
    MQTT_PROTOCOL: str(env, 'MQTT_PROTOCOL') ?? '3.1.1',
  };
}

/** The first SIGINT or SIGTERM aborts the signal; a second exits at once. */
function stopOnSignal(log: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    log.info({ signal }, 'stopping: finishing what is in flight');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
