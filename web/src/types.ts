/** The API's answers as the dashboard reads them (times are ISO 8601 strings). */

export type DeviceStatus =
  | 'excursion'
  | 'out_of_range'
  | 'offline'
  | 'sensor_fault'
  | 'battery_low'
  | 'no_data'
  | 'in_range';

export interface Range {
  low: number;
  high: number;
  inclusive: boolean;
}

export interface FleetTile {
  device_id: string;
  site: string | null;
  registry_status: 'active' | 'disabled';
  profile: string;
  range: Range;
  status: DeviceStatus;
  statuses: DeviceStatus[];
  last: {
    time: string;
    temperature_c: number | null;
    humidity_pct: number | null;
    battery_pct: number | null;
    quality: 'good' | 'invalid';
  } | null;
  last_seen_at: string | null;
  spark: Array<number | null>;
  active_alarms: string[];
  unacknowledged: number;
}

export interface Fleet {
  at: string;
  /** `complete` is false while the sparklines hold only the current half hour. */
  spark: { from: string; step_s: number; buckets: number; complete: boolean };
  devices: FleetTile[];
}

export interface TilesEvent {
  at: string;
  spark_from: string;
  spark_complete: boolean;
  tiles: FleetTile[];
}

export interface Alarm {
  id: string;
  device_id: string | null;
  sensor: string;
  rule_id: string;
  kind: string;
  severity: 'critical' | 'warning' | 'info';
  historical: boolean;
  state: 'open' | 'acknowledged' | 'cleared';
  since: string;
  until: string | null;
  raised_at: string;
  cleared_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  ack_comment: string | null;
  summary: string;
}

export interface AlarmAction {
  action: string;
  by: string;
  at: string;
  comment?: string | null;
}

export interface Series {
  device_id: string;
  sensor: string;
  sensors: string[];
  from: string;
  to: string;
  resolution: 'reading' | 'bucket';
  bucket_s: number | null;
  range: Range;
  gap_after_s: number;
  gaps: Array<{ from: string; to: string }>;
  alarms: Array<{
    id: string;
    kind: string;
    severity: string;
    state: string;
    historical: boolean;
    since: string;
    until: string | null;
    summary: string;
    acknowledged_by: string | null;
  }>;
  t: number[];
  temperature: Array<number | null>;
  min: Array<number | null>;
  max: Array<number | null>;
  humidity: Array<number | null>;
  count: number[];
  invalid: number[];
  ids: string[] | null;
}

export interface Reading {
  id: string;
  device_id: string;
  sensor: string;
  time: string;
  time_source: string;
  received_at: string;
  temperature_c: number | null;
  humidity_pct: number | null;
  battery_pct: number | null;
  quality: 'good' | 'invalid';
  flags: string[];
}
