import type mqttPacket from 'mqtt-packet';

/** How the ingest consumer reaches its broker and what it subscribes to. */
export interface ConsumerOptions {
  url: URL;
  clientId: string;
  username?: string;
  password?: string;
  /** PEM contents (not paths) of the CA, client certificate and key. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Topic filters, already prefixed with `$share/{group}/` when shared. */
  topics: readonly string[];
  /** Unacknowledged QoS 1 messages the broker may have in flight to us. */
  receiveMaximum: number;
  keepaliveSeconds: number;
  /** Seconds the broker keeps our session while we are away; default 7 days. */
  sessionExpirySeconds?: number;
}

const WEEK_S = 7 * 24 * 3600;

export function connectPacket(o: ConsumerOptions): mqttPacket.IConnectPacket {
  const p: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clientId: o.clientId,
    // Persistent session: what we have not acknowledged is kept and sent again.
    clean: false,
    keepalive: o.keepaliveSeconds,
    properties: {
      sessionExpiryInterval: o.sessionExpirySeconds ?? WEEK_S,
      receiveMaximum: o.receiveMaximum,
    },
  };
  if (o.username !== undefined) p.username = o.username;
  if (o.password !== undefined) p.password = Buffer.from(o.password);
  return p;
}

export function subscribePacket(o: ConsumerOptions): mqttPacket.ISubscribePacket {
  return {
    cmd: 'subscribe',
    messageId: 1,
    // Retain handling 1: retained messages only when the subscription is new, so a
    // reconnect into an existing session does not replay them.
    subscriptions: o.topics.map((topic) => ({ topic, qos: 1, rh: 1 })),
  };
}

const REASONS: Record<number, string> = {
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8b: 'server shutting down',
  0x8e: 'session taken over by another client with the same id',
  0x93: 'receive maximum exceeded',
  0x97: 'quota exceeded',
  0x9c: 'use another server',
  0x9f: 'connection rate exceeded',
};

/** The MQTT 5 reason code in words, e.g. `0x87 not authorized`. */
export function reasonText(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')} ${REASONS[code] ?? 'error'}`;
}
