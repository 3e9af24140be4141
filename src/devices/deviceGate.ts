/**
 * Whether a device may send readings, asked by the decoder on every message. The
 * answer comes from memory (registryCache.ts keeps it fresh), never from a query.
 */
import { Quarantine } from '../ingest/reasons.js';
import type { RegistrationStatus } from './registration.js';

/** What the decoder asks; `admit` throws a Quarantine for a device that may not send. */
export interface DeviceGate {
  admit(deviceId: string): void;
}

/** What the gate knows of a device: its status, or undefined when nobody registered it. */
export interface RegistryView {
  statusOf(deviceId: string): RegistrationStatus | undefined;
}

/**
 * Refuses a disabled device (DEVICE_DISABLED) and, when registration is required, a
 * device nobody registered (DEVICE_UNKNOWN). A device ingest only saw is unknown: a
 * row it created is not a registration.
 */
export function registryGate(
  view: RegistryView,
  requireRegistration: boolean,
): DeviceGate {
  return {
    admit(deviceId) {
      const status = view.statusOf(deviceId);
      if (status === 'disabled') {
        throw new Quarantine(
          'DEVICE_DISABLED',
          `device ${deviceId} is disabled in the registry; enable it to store its readings`,
        );
      }
      if (status === undefined && requireRegistration) {
        throw new Quarantine(
          'DEVICE_UNKNOWN',
          `device ${deviceId} is not registered and REQUIRE_DEVICE_REGISTRATION is on; register it with \`heru device add\``,
        );
      }
    },
  };
}
