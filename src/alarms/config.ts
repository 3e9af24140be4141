import { type Env, int } from '../config/env.js';

/** Settings of the rule engine and the offline watchdog. */
export interface AlarmConfig {
  /** Seconds a reading may arrive after its own time and still count as live, default 300 (`ALARM_LATE_AFTER`). */
  lateAfterSeconds: number;
  /** Seconds between two checks of the offline watchdog, default 30 (`ALARM_WATCHDOG_INTERVAL`). */
  watchdogSeconds: number;
  /**
   * Seconds without any watchdog running, or with ingest failing, before one operator
   * alarm is raised, default 120 (`ALARM_OUTAGE_AFTER`).
   */
  outageAfterSeconds: number;
  /**
   * Fewest devices falling silent at once (and at least half of those watched) that
   * raise one operator alarm instead of one offline alarm each, default 3
   * (`ALARM_FLEET_MIN_DEVICES`).
   */
  fleetMinDevices: number;
}

export function readAlarmConfig(env: Env): AlarmConfig {
  return {
    lateAfterSeconds: int(env, 'ALARM_LATE_AFTER', 300, { min: 1, max: 86_400 }),
    watchdogSeconds: int(env, 'ALARM_WATCHDOG_INTERVAL', 30, { min: 1, max: 3600 }),
    outageAfterSeconds: int(env, 'ALARM_OUTAGE_AFTER', 120, { min: 1, max: 86_400 }),
    fleetMinDevices: int(env, 'ALARM_FLEET_MIN_DEVICES', 3, { min: 2, max: 100_000 }),
  };
}
