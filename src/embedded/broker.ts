/**
 * The MQTT broker inside the process (Aedes), for a machine without one. It speaks
 * MQTT 3.1.1 (Aedes has no MQTT 5) and keeps sessions and QoS 1 queues in memory:
 * what it accepted from a device but had not yet handed to ingest is lost if the
 * process stops (docs/embedded.md). Any client may connect and publish; a fleet is
 * served by Mosquitto with certificates and ACLs (docs/deployment-mqtt.md).
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import type { Logger } from '../log.js';
import type { BrokerCertificates } from './certificates.js';

/** Where the embedded broker listens. */
/** Largest publish accepted, in bytes; as deploy/mosquitto's max_packet_size. */
const MAX_PUBLISH_BYTES = 1_100_000;

export interface EmbeddedBrokerOptions {
  /** TLS port on all interfaces (EMBEDDED_MQTTS_PORT, default 8883); 0 picks one. */
  tlsPort: number;
  /** Plain port on 127.0.0.1 only (EMBEDDED_MQTT_PORT, default 1883); absent: none. */
  plainPort?: number;
  /** TLS interface, default all (`0.0.0.0`). */
  host?: string;
}

export interface EmbeddedBroker {
  /** The ports in use; `plain` is absent when that listener is off or could not bind. */
  ports: { tls: number; plain?: number };
  /** Refuses new connections and publishes; what is queued still reaches ingest. */
  stopAccepting(): void;
  close(): Promise<void>;
}

/** Starts the broker; fails when the TLS port is taken, warns when the plain one is. */
export async function startEmbeddedBroker(
  certs: BrokerCertificates,
  options: EmbeddedBrokerOptions,
  log: Logger,
): Promise<EmbeddedBroker> {
  let stopping = false;
  const aedes = await Aedes.createBroker({
    heartbeatInterval: 60_000,
    // Refusing a publish disconnects the client without a PUBACK, so the device keeps
    // the message and sends it again: while stopping (ingest must not miss what the
    // broker acknowledges) and above the size a real deployment's Mosquitto accepts.
    authorizePublish: (_client, packet, done) => {
      if (stopping) return done(new Error('the embedded broker is stopping'));
      if (packet.payload.length > MAX_PUBLISH_BYTES) {
        return done(new Error(`payload over ${MAX_PUBLISH_BYTES} bytes`));
      }
      return done(null);
    },
  });
  aedes.on('clientError', (client, err) =>
    log.debug({ client: client.id, err: err.message }, 'embedded broker: client error'),
  );
  const secure = tls.createServer(
    {
      cert: await readFile(certs.certFile),
      key: await readFile(certs.keyFile),
      minVersion: 'TLSv1.2',
    },
    (socket) => aedes.handle(socket),
  );
  const servers: net.Server[] = [secure];
  const tlsPort = await listen(secure, options.tlsPort, options.host ?? '0.0.0.0').catch(
    (err: NodeJS.ErrnoException) => {
      aedes.close();
      throw new Error(
        `the embedded MQTT broker cannot listen on TLS port ${options.tlsPort} (${err.code ?? err.message}): set EMBEDDED_MQTTS_PORT to a free port, or MQTT_URL to use a broker of your own`,
      );
    },
  );
  const ports: EmbeddedBroker['ports'] = { tls: tlsPort };
  if (options.plainPort !== undefined) {
    const plain = await listenPlain(aedes, options.plainPort, log);
    if (plain) {
      servers.push(plain.server);
      ports.plain = plain.port;
    }
  }
  log.info(
    {
      port: tlsPort,
      plainPort: ports.plain,
      caFile: certs.caFile,
      protocol: 'MQTT 3.1.1',
    },
    'embedded MQTT broker (Aedes) with TLS: MQTT_URL is not set',
  );
  return {
    ports,
    stopAccepting() {
      stopping = true;
      for (const s of servers) s.close();
    },
    async close() {
      for (const s of servers) s.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** The plain listener on 127.0.0.1, or undefined (with a warning) when its port is taken. */
async function listenPlain(
  aedes: Aedes,
  port: number,
  log: Logger,
): Promise<{ server: net.Server; port: number } | undefined> {
  const server = net.createServer((socket) => aedes.handle(socket));
  try {
    return { server, port: await listen(server, port, '127.0.0.1') };
  } catch (err) {
    log.warn(
      { port, code: (err as NodeJS.ErrnoException).code },
      'embedded MQTT broker: plain port taken (another broker?); no plain listener. Set EMBEDDED_MQTT_PORT to a free port, or off',
    );
    return undefined;
  }
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
