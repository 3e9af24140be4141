/**
 * The broker's ACL for the fleet. A device's MQTT username is its id (the certificate's
 * common name, or its user in the password file), and `%u` in a pattern stands for
 * it: each device may publish only on the topics of its own id, in every format ingest
 * reads. The server's ingest user may read every topic; nobody else reads anything.
 *
 * Patterns name whole topics rather than `%u/#`, so that a device whose id equals
 * another format's first level (a device called `heru` or `tele`) gains nothing.
 * Mosquitto itself refuses a pattern match for a username holding `+` or `#`, and
 * device ids cannot hold `/`.
 */

/** Topics a device publishes on, `%u` being its id; one per format ingest reads. */
export const DEVICE_PUBLISH_PATTERNS: readonly string[] = [
  // This server's own format.
  'heru/v1/devices/%u/#',
  // The Heru firmware, and its backlog after an outage.
  'heru/sensors/%u',
  'heru/sensors/%u/backlog',
  // Tasmota: telemetry, status and its last will (the will is checked at CONNECT).
  'tele/%u/SENSOR',
  'tele/%u/STATE',
  'tele/%u/LWT',
  // ESPHome with its topic prefix set to the device id: readings and birth/will.
  '%u/sensor/+/state',
  '%u/status',
];

/** Options of the ACL file. */
export interface AclOptions {
  /** Username of the server's ingest (its certificate's common name), default `heru-ingest`. */
  ingestUser: string;
  /** Further device patterns, for the topics of an operator's mappings. */
  extraPatterns?: readonly string[];
}

/** The ACL file's text. */
export function renderAcl(opts: AclOptions): string {
  const patterns = [...DEVICE_PUBLISH_PATTERNS, ...(opts.extraPatterns ?? [])];
  return [
    '# Written by `heru broker-config`; regenerate it rather than edit it.',
    '#',
    '# Devices: %u is the MQTT username, which is the device id (the common name of its',
    '# certificate, or its user in the password file). A device may publish only under',
    '# its own id; it may read nothing.',
    ...patterns.map((p) => `pattern write ${p}`),
    '',
    '# The server: its ingest reads every topic (its certificate names this user).',
    `user ${opts.ingestUser}`,
    'topic read #',
    '',
  ].join('\n');
}
