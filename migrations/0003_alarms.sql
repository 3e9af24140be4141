-- Rules and alarms: profiles (a device's rules), the rule state of every device, the
-- alarms and their audit trail. Alarm and profile actions are append-only; an alarm's
-- row carries its current state and `alarm_action` every step that led there.

-- A set of rules for one kind of storage. `rules` is the JSON the API shows
-- (docs/alarms.md); it is checked by the server before it is written.
create table profile (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  kind text not null
    check (kind in ('vaccine_fridge', 'freezer', 'controlled_room', 'custom')),
  description text not null default '',
  rules jsonb not null,
  builtin boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  updated_by text not null
);

-- The profile of a device. No reference to `device`: a profile may be given to a
-- device before it first reports, and its offline watchdog then runs from that time.
-- A device without a row here has the profile `vaccine_fridge`.
create table device_profile (
  device_id text primary key,
  profile text not null references profile (name),
  assigned_at timestamptz not null,
  assigned_by text not null
);

-- Every change of a profile's rules or of a device's profile: who, when, old and new.
create table profile_change (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  by text not null,
  subject text not null check (subject in ('profile', 'device')),
  profile text not null,
  device_id text,
  old jsonb,
  new jsonb not null,
  comment text,
  check ((subject = 'device') = (device_id is not null))
);

create index profile_change_device_idx on profile_change (device_id, at)
  where device_id is not null;
create index profile_change_profile_idx on profile_change (profile, at);

-- One alarm per episode. `since`/`until` are reading times (when the condition
-- began and ended); `raised_at`/`cleared_at` are server times. A historical alarm is
-- an episode found in readings that arrived late; it never touches the live state.
create table alarm (
  id bigint generated always as identity primary key,
  device_id text,
  sensor text not null default '',
  rule_id text not null,
  kind text not null,
  severity text not null check (severity in ('critical', 'warning', 'info')),
  historical boolean not null default false,
  state text not null check (state in ('open', 'acknowledged', 'cleared')),
  profile text,
  -- The device's site when the alarm was raised; the notification hub routes by it.
  site text,
  since timestamptz not null,
  until timestamptz,
  raised_at timestamptz not null default now(),
  cleared_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text,
  ack_comment text,
  summary text not null,
  detail jsonb not null default '{}',
  check ((state = 'cleared') = (cleared_at is not null)),
  check ((acknowledged_at is null) = (acknowledged_by is null))
);

-- At most one live alarm per device, sensor and rule is not yet cleared.
create unique index alarm_active_once on alarm (coalesce(device_id, ''), sensor, rule_id)
  where state <> 'cleared' and not historical;
-- A historical episode is recorded once, however often its readings are replayed.
create unique index alarm_historical_once on alarm (device_id, sensor, rule_id, since)
  where historical;
create index alarm_device_since_idx on alarm (device_id, since);
create index alarm_raised_idx on alarm (raised_at);

-- The audit trail of alarms: raised, acknowledged, cleared, updated. Append-only.
create table alarm_action (
  id bigint generated always as identity primary key,
  alarm_id bigint not null references alarm (id),
  action text not null check (action in ('raised', 'acknowledged', 'cleared', 'updated')),
  at timestamptz not null default now(),
  by text not null,
  comment text,
  detail jsonb not null default '{}'
);

create index alarm_action_alarm_idx on alarm_action (alarm_id, at);

create trigger alarm_action_append_only before update or delete on alarm_action
  for each row execute function heru_forbid_change();
create trigger profile_change_append_only before update or delete on profile_change
  for each row execute function heru_forbid_change();

-- The rule engine's memory of each device (timers, counters, which alarm is open), so
-- that a restart loses nothing. `evaluated_through` is the latest receive time of the
-- readings evaluated; at start the engine evaluates what was stored after it.
create table alarm_device_state (
  device_id text primary key,
  state jsonb not null,
  evaluated_through timestamptz,
  updated_at timestamptz not null default now()
);

-- The watchdog's heartbeat: when some process last checked for offline devices, and
-- from when devices are expected to report (the end of the last outage).
create table alarm_watchdog (
  id smallint primary key check (id = 1),
  last_tick_at timestamptz not null,
  monitoring_since timestamptz not null
);

-- The built-in profiles. Thresholds are inclusive: a fridge at exactly +8.0 °C is out.
insert into profile (name, kind, description, rules, builtin, updated_by) values
('vaccine_fridge', 'vaccine_fridge',
 'Vaccine fridge, +2 to +8 °C: out of range for 60 minutes, or at +12 °C at once.',
 '{"range": {"low": 2.0, "high": 8.0, "inclusive": true},
   "time_zone": "UTC",
   "excursions": [
     {"id": "heat", "direction": "high", "raise_at": 8.0, "clear_at": 7.5, "minutes": 60, "severity": "critical"},
     {"id": "freeze", "direction": "low", "raise_at": 2.0, "clear_at": 2.5, "minutes": 60, "severity": "critical"},
     {"id": "heat_immediate", "direction": "high", "raise_at": 12.0, "clear_at": 11.0, "minutes": 0, "severity": "critical"}
   ],
   "cumulative": [
     {"id": "heat_daily", "direction": "high", "raise_at": 8.0, "minutes": 120, "window": "day", "severity": "warning"}
   ],
   "sensor_fault": {"invalid": 3, "of_last": 10},
   "offline": {"minutes": 30},
   "low_battery": {"percent": 20, "clear_percent": 25}}',
 true, 'system'),
('who_30dtr', 'vaccine_fridge',
 'Vaccine fridge with the WHO 30-day temperature recorder alarms: at or above +8 °C for 10 hours, at or below -0.5 °C for 60 minutes.',
 '{"range": {"low": 2.0, "high": 8.0, "inclusive": true},
   "time_zone": "UTC",
   "excursions": [
     {"id": "heat", "direction": "high", "raise_at": 8.0, "clear_at": 8.0, "minutes": 600, "severity": "critical"},
     {"id": "freeze", "direction": "low", "raise_at": -0.5, "clear_at": -0.5, "minutes": 60, "severity": "critical"}
   ],
   "cumulative": [],
   "sensor_fault": {"invalid": 3, "of_last": 10},
   "offline": {"minutes": 30},
   "low_battery": {"percent": 20, "clear_percent": 25}}',
 true, 'system'),
('freezer', 'freezer',
 'Vaccine freezer, -25 to -15 °C: warmer than -15 °C for 60 minutes, or at -10 °C at once.',
 '{"range": {"low": -25.0, "high": -15.0, "inclusive": true},
   "time_zone": "UTC",
   "excursions": [
     {"id": "heat", "direction": "high", "raise_at": -15.0, "clear_at": -16.0, "minutes": 60, "severity": "critical"},
     {"id": "heat_immediate", "direction": "high", "raise_at": -10.0, "clear_at": -11.0, "minutes": 0, "severity": "critical"}
   ],
   "cumulative": [],
   "sensor_fault": {"invalid": 3, "of_last": 10},
   "offline": {"minutes": 30},
   "low_battery": {"percent": 20, "clear_percent": 25}}',
 true, 'system'),
('controlled_room', 'controlled_room',
 'Controlled room temperature, +15 to +25 °C: out of range for 60 minutes, or at +30 °C at once.',
 '{"range": {"low": 15.0, "high": 25.0, "inclusive": true},
   "time_zone": "UTC",
   "excursions": [
     {"id": "heat", "direction": "high", "raise_at": 25.0, "clear_at": 24.5, "minutes": 60, "severity": "warning"},
     {"id": "cold", "direction": "low", "raise_at": 15.0, "clear_at": 15.5, "minutes": 60, "severity": "warning"},
     {"id": "heat_immediate", "direction": "high", "raise_at": 30.0, "clear_at": 29.0, "minutes": 0, "severity": "critical"}
   ],
   "cumulative": [],
   "sensor_fault": {"invalid": 3, "of_last": 10},
   "offline": {"minutes": 60},
   "low_battery": {"percent": 20, "clear_percent": 25}}',
 true, 'system');
