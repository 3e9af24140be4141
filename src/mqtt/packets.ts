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
  /** Seconds the broker keeps our session while we are away; default 7 days (MQTT 5). */
  sessionExpirySeconds?: number;
  /**
   * 5 (MQTT 5, default) or 4 (MQTT 3.1.1, for brokers without MQTT 5). With 4 there is
   * no Receive Maximum nor session expiry: the broker keeps the session until a clean
   * start, and sends what it has queued without a window.
   */
  protocolVersion?: 4 | 5;
}

/** The protocol version the consumer speaks, 5 unless the options say 4. */
export function versionOf(o: ConsumerOptions): 4 | 5 {
  return o.protocolVersion ?? 5;
}

const WEEK_S = 7 * 24 * 3600;

export function connectPacket(o: ConsumerOptions): mqttPacket.IConnectPacket {
  const p: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: versionOf(o),
    clientId: o.clientId,
    // Persistent session: what we have not acknowledged is kept and sent again.
    clean: false,
    keepalive: o.keepaliveSeconds,
  };
  if (versionOf(o) === 5) {
    p.properties = {
      sessionExpiryInterval: o.sessionExpirySeconds ?? WEEK_S,
      receiveMaximum: o.receiveMaximum,
    };
  }
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
    // MQTT 3.1.1 has no such option: its brokers send retained messages at every
    // subscribe; the natural keys store them once.
    subscriptions: o.topics.map((topic) =>
      versionOf(o) === 5 ? { topic, qos: 1, rh: 1 } : { topic, qos: 1 },
    ),
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

/**
 * PUBACKs for the given packet ids, back to back in one buffer. Success with no
 * properties, so each is the short form of MQTT 5 (3.4.2.1): remaining length 2,
 * the packet id only, which is also the whole PUBACK of MQTT 3.1.1. Four bytes each; one write for a whole commit.
 */
export function pubacks(messageIds: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(messageIds.length * 4);
  let at = 0;
  for (const id of messageIds) {
    buf[at] = 0x40;
    buf[at + 1] = 2;
    buf.writeUInt16BE(id, at + 2);
    at += 4;
  }
  return buf;
}
