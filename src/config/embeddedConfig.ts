import { ConfigError } from './ConfigError.js';
import { int, oneOf, str, type Env } from './env.js';

/**
 * Who may use the embedded broker (EMBEDDED_MQTT_AUTH):
 * - `open`: any client connects; one that gives credentials is held to them;
 * - `device`: every device proves its id, by a client certificate of the fleet CA
 *   or by the password file, and publishes only under it (docs/embedded.md).
 */
export type EmbeddedMqttAuth = 'open' | 'device';

/** Settings of the embedded parts `heru serve` starts when no service is configured. */
export interface EmbeddedConfig {
  /** TLS port of the embedded broker on all interfaces (EMBEDDED_MQTTS_PORT), default 8883. */
  tlsPort: number;
  /**
   * Plain port on 127.0.0.1 (EMBEDDED_MQTT_PORT), default 1883; absent when `off`.
   * `plainPortSet` says whether it was given: a default port that is taken is skipped
   * with a warning, a port given that is taken stops the start.
   */
  plainPort?: number;
  plainPortSet: boolean;
  /** EMBEDDED_MQTT_AUTH; default `device` with REQUIRE_DEVICE_REGISTRATION=true, else `open`. */
  mqttAuth: EmbeddedMqttAuth;
  /**
   * Further topics a device may publish on, `%u` standing for its id
   * (EMBEDDED_MQTT_ACL_PATTERNS, comma-separated; as `heru broker-config --acl-pattern`).
   */
  aclPatterns: string[];
  /**
   * Folder of the ready database copied at a first start (EMBEDDED_PG_TEMPLATE);
   * `off` for none (initdb); undefined: the one `npm ci` built.
   */
  pgTemplate?: string;
}

/** Reads the EMBEDDED_* settings; throws ConfigError on a bad one. */
export function readEmbeddedConfig(env: Env): EmbeddedConfig {
  const plain = str(env, 'EMBEDDED_MQTT_PORT');
  if (plain !== undefined && plain !== 'off' && !/^\d+$/.test(plain)) {
    throw new ConfigError('EMBEDDED_MQTT_PORT', 'a port number or off', plain);
  }
  const registration = str(env, 'REQUIRE_DEVICE_REGISTRATION') === 'true';
  const template = str(env, 'EMBEDDED_PG_TEMPLATE');
  const patterns = (str(env, 'EMBEDDED_MQTT_ACL_PATTERNS') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of patterns) {
    if (!isTopicPattern(p)) {
      throw new ConfigError(
        'EMBEDDED_MQTT_ACL_PATTERNS',
        'topic patterns separated by commas, such as site/%u/temperature (+ for a whole level, # only at the end)',
        p,
      );
    }
  }
  return {
    tlsPort: int(env, 'EMBEDDED_MQTTS_PORT', 8883, { min: 0, max: 65535 }),
    ...(plain === 'off'
      ? {}
      : { plainPort: int(env, 'EMBEDDED_MQTT_PORT', 1883, { min: 0, max: 65535 }) }),
    plainPortSet: plain !== undefined,
    mqttAuth: oneOf(
      env,
      'EMBEDDED_MQTT_AUTH',
      ['open', 'device'] as const,
      registration ? 'device' : 'open',
    ),
    aclPatterns: patterns,
    ...(template === undefined ? {} : { pgTemplate: template }),
  };
}

/** A topic filter: `+` only as a whole level, `#` only as the whole last level. */
function isTopicPattern(p: string): boolean {
  const levels = p.split('/');
  return levels.every(
    (l, i) => l === '+' || (l === '#' && i === levels.length - 1) || !/[\s#+]/.test(l),
  );
}
