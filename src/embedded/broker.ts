/**
 * The MQTT broker inside the process (Aedes), for a machine without one. It speaks
 * MQTT 3.1.1 (Aedes has no MQTT 5) and keeps sessions and queues in memory. A QoS 1
 * message on a topic ingest reads is acknowledged to its device only once ingest has
 * committed it (commitGate.ts), so a process that dies loses no acknowledged reading.
 * Who may connect and publish: brokerAuth.ts.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import type { EmbeddedMqttAuth } from '../config/embeddedConfig.js';
import { listenError } from '../config/portInUse.js';
import type { Logger } from '../log.js';
import { BrokerAuth, type BrokerAuthOptions } from './brokerAuth.js';
import type { BrokerCertificates } from './certificates.js';
import { CommitGate } from './commitGate.js';

/** Largest publish accepted, in bytes; as deploy/mosquitto's max_packet_size. */
const MAX_PUBLISH_BYTES = 1_100_000;

/** Where the embedded broker listens, and whom it lets in. */
export interface EmbeddedBrokerOptions {
  /** TLS port on all interfaces (EMBEDDED_MQTTS_PORT, default 8883); 0 picks one. */
  tlsPort: number;
  /** Plain port on 127.0.0.1 only (EMBEDDED_MQTT_PORT, default 1883); absent: none. */
  plainPort?: number;
  /** The plain port was chosen (not the default): when taken, fail instead of warn. */
  plainPortRequired?: boolean;
  /** TLS interface, default all (`0.0.0.0`). */
  host?: string;
  /** EMBEDDED_MQTT_AUTH and the files the devices' credentials are checked against. */
  auth: Omit<BrokerAuthOptions, 'mode'> & { mode: EmbeddedMqttAuth };
}

export interface EmbeddedBroker {
  /** The ports in use; `plain` is absent when that listener is off or could not bind. */
  ports: { tls: number; plain?: number };
  /** The password of the server's own clients (user names in INTERNAL_USERS). */
  secret: string;
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
  const auth = new BrokerAuth(options.auth, log);
  const gate = new CommitGate((client) => {
    const who = auth.identity(client);
    return who?.kind === 'internal' && who.role === 'ingest';
  }, log);
  const aedes = await Aedes.createBroker({
    heartbeatInterval: 60_000,
    authenticate: auth.authenticate,
    // Refusing a publish disconnects the client without a PUBACK, so the device keeps
    // the message and sends it again: while stopping (ingest must not miss what the
    // broker acknowledges), above the size a real deployment's Mosquitto accepts,
    // outside the device's own topics, and with an empty device level.
    authorizePublish: (client, packet, done) => {
      if (stopping) return done(new Error('the embedded broker is stopping'));
      const refused = publishRefusal(auth, client, packet) ?? gate.refusal(packet);
      if (refused !== undefined) {
        log.info(
          { client: client?.id, topic: packet.topic, reason: refused },
          'embedded broker: publish refused',
        );
        return done(new Error(refused));
      }
      return gate.pass(client, packet, done);
    },
    authorizeSubscribe: (client, sub, done) =>
      auth.maySubscribe(client)
        ? done(null, sub)
        : done(new Error(`${client.id} may not subscribe`)),
  });
  gate.attach(aedes);
  aedes.on('clientError', (client, err) =>
    log.debug({ client: client.id, err: err.message }, 'embedded broker: client error'),
  );
  const secure = tls.createServer(
    {
      cert: await readFile(certs.certFile),
      key: await readFile(certs.keyFile),
      ca: await readFile(certs.caFile),
      // A client certificate is asked for and checked against the fleet CA; whether
      // one is required is brokerAuth's call at CONNECT.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (socket) => aedes.handle(socket),
  );
  const servers: net.Server[] = [secure];
  const host = options.host ?? '0.0.0.0';
  const tlsPort = await listen(secure, options.tlsPort, host).catch((err: unknown) => {
    aedes.close();
    throw listenError('EMBEDDED_MQTTS_PORT', { host, port: options.tlsPort }, err);
  });
  const ports: EmbeddedBroker['ports'] = { tls: tlsPort };
  if (options.plainPort !== undefined) {
    const plain = await listenPlain(aedes, options.plainPort).catch((err: unknown) => {
      if (options.plainPortRequired) {
        secure.close();
        aedes.close();
        throw listenError(
          'EMBEDDED_MQTT_PORT',
          { host: '127.0.0.1', port: options.plainPort! },
          err,
        );
      }
      log.warn(
        { port: options.plainPort, code: (err as NodeJS.ErrnoException).code },
        'embedded MQTT broker: plain port taken (another broker?); no plain listener. Set EMBEDDED_MQTT_PORT to a free port, or off',
      );
      return undefined;
    });
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
      auth: options.auth.mode,
      protocol: 'MQTT 3.1.1',
    },
    'embedded MQTT broker (Aedes) with TLS: MQTT_URL is not set',
  );
  return {
    ports,
    secret: auth.secret,
    stopAccepting() {
      stopping = true;
      for (const s of servers) s.close();
    },
    async close() {
      for (const s of servers) s.close();
      gate.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

function publishRefusal(
  auth: BrokerAuth,
  client: Client | null,
  packet: PublishPacket,
): string | undefined {
  if (packet.payload.length > MAX_PUBLISH_BYTES) {
    return `payload over ${MAX_PUBLISH_BYTES} bytes`;
  }
  return auth.publishRefusal(client, packet.topic);
}

/** The plain listener on 127.0.0.1. */
async function listenPlain(
  aedes: Aedes,
  port: number,
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((socket) => aedes.handle(socket));
  return { server, port: await listen(server, port, '127.0.0.1') };
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
