/**
 * Which new readings go first. A reading beyond the raise level of an excursion rule
 * of its device's profile may raise an alarm (at once, for an immediate-level rule),
 * so the engine evaluates it ahead of the readings queued before it, in a turn of its
 * own. Every other reading waits its turn.
 *
 * This is only an order of work, judged from what the engine last loaded: each
 * device's profile as its last turn found it, the default profile for a device not
 * evaluated yet. A wrong guess (a profile changed since) delays an alarm by a turn or
 * two; it never changes what the rules decide.
 */
import { isBeyond } from './excursion.js';
import { DEFAULT_PROFILE, type ExcursionRule, type Profile } from './profile.js';
import type { RuleReading } from './evaluate.js';

export class Urgency {
  /** Excursion rules by profile name. */
  private readonly rules = new Map<string, readonly ExcursionRule[]>();
  /** Profile name by device id, as the device's last turn found it. */
  private readonly profileOf = new Map<string, string>();

  /** Learns the current rules of these profiles. */
  learnProfiles(profiles: Iterable<Profile>): void {
    for (const p of profiles) this.rules.set(p.name, p.rules.excursions);
  }

  /** Learns that `deviceId` has `profile` (and the profile's current rules). */
  learnDevice(deviceId: string, profile: Profile): void {
    this.rules.set(profile.name, profile.rules.excursions);
    if (profile.name === DEFAULT_PROFILE) this.profileOf.delete(deviceId);
    else this.profileOf.set(deviceId, profile.name);
  }

  /** True when the reading is beyond the raise level of one of its profile's excursion rules. */
  isUrgent(deviceId: string, r: RuleReading): boolean {
    const value = r.temperatureC;
    if (value === null || r.quality !== 'good') return false;
    const rules = this.rules.get(this.profileOf.get(deviceId) ?? DEFAULT_PROFILE);
    return rules?.some((rule) => isBeyond(rule, value)) ?? false;
  }
}
