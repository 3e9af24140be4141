-- Firmwares and operator mappings: device status messages kept as raw messages of
-- their own outcome, the status they report, the operator's mappings of device
-- formats with their history, and per-device settings (time zone, unit, sensor kinds).

-- A status message (Tasmota LWT/STATE, ESPHome status) is kept like every message,
-- with the outcome `status`: neither a reading nor a fault of the device.
alter table raw_message drop constraint raw_message_outcome_check;
alter table raw_message add constraint raw_message_outcome_check
  check (outcome in ('stored', 'duplicate', 'quarantined', 'status'));

-- What the device last said of itself. Each value with the receive time of the
-- message that said it; a later message wins, an older one arriving late does not.
create table device_status (
  device_id text collate "C" primary key references device (device_id),
  online boolean,
  online_at timestamptz,
  rssi_dbm integer,
  rssi_at timestamptz,
  updated_at timestamptz not null
);

-- An operator's mapping of a device format (docs/mapping.md). `definition` is the
-- JSON the API shows, checked by the server before it is written.
create table mapping (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  definition jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  updated_by text not null
);

-- Every change of a mapping: who, when, the definition before and after (null when
-- created, or when deleted). Readings keep their raw message, so what a change did
-- can be traced and replayed.
create table mapping_change (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  by text not null,
  mapping text not null,
  old jsonb,
  new jsonb,
  comment text,
  check (old is not null or new is not null)
);

create index mapping_change_mapping_idx on mapping_change (mapping, at);

-- What the operator set for one device. No reference to `device`: a device may be
-- set up before it first reports.
create table device_setting (
  device_id text collate "C" primary key,
  time_zone text,
  unit text check (unit in ('C', 'F')),
  sensor_kinds jsonb not null default '{}',
  updated_at timestamptz not null default now(),
  updated_by text not null
);

-- Ingest keeps mappings and settings in memory; a change wakes it (LISTEN
-- heru_mappings) wherever it was made: the API, the heru command or plain SQL.
create function heru_notify_mappings() returns trigger
language plpgsql as $$
begin
  perform pg_notify('heru_mappings', tg_table_name);
  return null;
end;
$$;

create trigger mapping_changed after insert or update or delete or truncate on mapping
  for each statement execute function heru_notify_mappings();
create trigger device_setting_changed after insert or update or delete or truncate
  on device_setting for each statement execute function heru_notify_mappings();
