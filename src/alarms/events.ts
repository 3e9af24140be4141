/**
 * What the rule engine tells the notification hub. The hub decides who hears of it
 * and through which channel; the engine never waits for a delivery.
 */

/** Kinds of alarm a rule can raise. */
export type AlarmKind =
  | 'excursion_high'
  | 'excursion_low'
  | 'excursion_immediate'
  | 'cumulative_excursion'
  | 'sensor_fault'
  | 'device_offline'
  | 'low_battery'
  | 'historical_excursion'
  | 'operator';

export type AlarmSeverity = 'critical' | 'warning' | 'info';

/** A change in an alarm's life: raised, acknowledged, cleared, or escalated (unacknowledged too long). */
export interface AlarmEvent {
  type: 'raised' | 'acknowledged' | 'cleared' | 'escalated';
  alarmId: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  /** Null for operator alarms that concern no one device (a broker outage). */
  deviceId: string | null;
  site: string | null;
  profile: string | null;
  /** One line a nurse understands: "Fridge 3 at 9.4 °C since 10:12 (limit 8.0 °C)". */
  summary: string;
  /** When the condition began (device time), and when this event happened (server time). */
  since: string;
  at: string;
  /** Escalation level, 0 for the first notice. */
  level: number;
  /** Who acknowledged, for `acknowledged` events (added for the notification hub). */
  actor?: string;
  /** Rule of the device's profile that raised it (`heat`, `offline`, …). */
  ruleId?: string;
  /** Probe of the device ('' when it has one, or for device-wide alarms). */
  sensor?: string;
  /** True for an excursion found in readings that arrived late (not the live state). */
  historical?: boolean;
  /** When the condition ended (reading time), null while it lasts. */
  until?: string | null;
}

/** Receives alarm events; implemented by the notification hub. Must not throw or block. */
export interface AlarmListener {
  onAlarmEvent(event: AlarmEvent): void;
}
