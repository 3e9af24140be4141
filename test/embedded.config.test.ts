/**
 * The settings of the embedded parts, and the topic filters the embedded broker
 * matches its ACL and ingest's subscriptions with.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/ConfigError.js';
import { readEmbeddedConfig } from '../src/config/embeddedConfig.js';
import { listenError } from '../src/config/portInUse.js';
import { topicMatches } from '../src/embedded/topicFilter.js';

describe('the embedded settings', () => {
  it('default to an open broker on 8883 and 1883 and the template npm ci built', () => {
    expect(readEmbeddedConfig({})).toEqual({
      tlsPort: 8883,
      plainPort: 1883,
      plainPortSet: false,
      mqttAuth: 'open',
      aclPatterns: [],
    });
  });

  it('ask devices to prove their id when registration is required, unless told otherwise', () => {
    expect(readEmbeddedConfig({ REQUIRE_DEVICE_REGISTRATION: 'true' }).mqttAuth).toBe(
      'device',
    );
    expect(
      readEmbeddedConfig({
        REQUIRE_DEVICE_REGISTRATION: 'true',
        EMBEDDED_MQTT_AUTH: 'open',
      }).mqttAuth,
    ).toBe('open');
    expect(readEmbeddedConfig({ EMBEDDED_MQTT_AUTH: 'device' }).mqttAuth).toBe('device');
  });

  it('read a plain port that was asked for, off, a template folder and ACL patterns', () => {
    const c = readEmbeddedConfig({
      EMBEDDED_MQTT_PORT: 'off',
      EMBEDDED_PG_TEMPLATE: 'off',
      EMBEDDED_MQTT_ACL_PATTERNS: 'site/%u/temperature, coldbox/%u/+/data,lab/%u/#',
    });
    expect(c.plainPort).toBeUndefined();
    expect(c.plainPortSet).toBe(true);
    expect(c.pgTemplate).toBe('off');
    expect(c.aclPatterns).toEqual([
      'site/%u/temperature',
      'coldbox/%u/+/data',
      'lab/%u/#',
    ]);
    expect(readEmbeddedConfig({ EMBEDDED_MQTT_PORT: '1884' }).plainPortSet).toBe(true);
  });

  it.each([
    ['EMBEDDED_MQTT_AUTH', 'certificates'],
    ['EMBEDDED_MQTT_PORT', 'plain'],
    ['EMBEDDED_MQTTS_PORT', '70000'],
    ['EMBEDDED_MQTT_ACL_PATTERNS', 'site/#/x'],
    ['EMBEDDED_MQTT_ACL_PATTERNS', 'site/a+b'],
  ])('refuse %s=%s, naming the variable', (variable, value) => {
    expect(() => readEmbeddedConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => readEmbeddedConfig({ [variable]: value })).toThrow(variable);
  });
});

describe('a port that cannot be listened on', () => {
  const at = { host: '0.0.0.0', port: 8000 };
  const errno = (code: string) => Object.assign(new Error(code), { code });

  it('is a configuration error naming the variable, the port and what to do', () => {
    const err = listenError('HTTP_PORT', at, errno('EADDRINUSE'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'HTTP_PORT is "8000"; expected a free port, but 0.0.0.0:8000 is in use by another process: stop that process, or set HTTP_PORT to another port.',
    );
    expect(
      listenError('HTTP_PORT', { ...at, port: 80 }, errno('EACCES')).message,
    ).toContain('set HTTP_PORT to a port from 1024 up');
  });

  it('keeps any other error as it is', () => {
    const other = errno('EINVAL');
    expect(listenError('HTTP_PORT', at, other)).toBe(other);
  });
});

describe('MQTT topic filters', () => {
  it.each([
    ['heru/sensors/+', 'heru/sensors/fridge-1', true],
    ['heru/sensors/+', 'heru/sensors/fridge-1/backlog', false],
    ['heru/v1/devices/fridge-1/#', 'heru/v1/devices/fridge-1/readings', true],
    ['heru/v1/devices/fridge-1/#', 'heru/v1/devices/fridge-1', true],
    ['heru/v1/devices/fridge-1/#', 'heru/v1/devices/fridge-2/readings', false],
    ['+/sensor/+/state', 'fridge-1/sensor/probe/state', true],
    ['#', 'anything/at/all', true],
    ['#', '$SYS/broker/heartbeat', false],
    ['+/status', '$SYS/status', false],
    ['tele/+/LWT', 'tele/fridge-1/LWT', true],
    ['tele/+/LWT', 'tele//LWT', true],
  ])('%s against %s: %s', (filter, topic, match) => {
    expect(topicMatches(filter, topic)).toBe(match);
  });
});
