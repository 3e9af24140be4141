-- Ingest: devices, raw messages, readings and the natural key that makes every
-- reading unique. Raw messages and readings are append-only; times are timestamptz.
--
-- Device ids and natural keys are ASCII identifiers compared byte by byte
-- (collate "C"): their indexes take every reading, and a locale's collation rules
-- cost several times more per comparison for no use.

create table device (
  device_id text collate "C" primary key,
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null,
  last_reading_at timestamptz,
  message_count bigint not null default 0,
  reading_count bigint not null default 0,
  duplicate_count bigint not null default 0,
  quarantined_count bigint not null default 0
) with (fillfactor = 50);
-- Every ingest commit updates the counters of its devices; the free half of each
-- page lets those updates stay on the page (HOT) instead of touching the index.

create table device_quarantine_count (
  device_id text collate "C" not null references device (device_id),
  reason text not null,
  count bigint not null,
  last_at timestamptz not null,
  primary key (device_id, reason)
);

create sequence raw_message_id_seq as bigint;

-- Every MQTT message as it arrived, whatever became of it.
create table raw_message (
  id bigint not null,
  received_at timestamptz not null,
  topic text not null,
  payload bytea not null,
  qos smallint not null,
  retained boolean not null,
  device_id text,
  outcome text not null check (outcome in ('stored', 'duplicate', 'quarantined')),
  reason text,
  detail text,
  reading_count integer not null default 0,
  primary key (id, received_at),
  check ((outcome = 'quarantined') = (reason is not null))
) partition by range (received_at);

create index raw_message_quarantine_idx on raw_message (device_id, received_at)
  where outcome = 'quarantined';

create table raw_message_default partition of raw_message default;

create sequence reading_id_seq as bigint;

-- One row per reading. `time` is the reading's time on the server's clock of
-- record: the device's time when plausible, the receive time otherwise.
create table reading (
  id bigint not null default nextval('reading_id_seq'),
  device_id text collate "C" not null,
  sensor text not null default '',
  time timestamptz not null,
  time_source text not null check (time_source in ('device', 'server')),
  device_time timestamptz,
  received_at timestamptz not null,
  boot bigint,
  seq bigint,
  temperature_c double precision,
  humidity_pct double precision,
  battery_pct double precision,
  battery_v double precision,
  rssi_dbm integer,
  quality text not null check (quality in ('good', 'invalid')),
  flags text[] not null default '{}',
  raw_message_id bigint not null,
  primary key (id, time)
) partition by range (time);

create index reading_device_time_idx on reading (device_id, time);
-- A reading is found by id through the primary key (id, time): id is its first column.

create table reading_default partition of reading default;

-- The natural key of each stored reading; a second insert of the same key is a
-- duplicate (redelivery, replay, retained message) and is not stored again.
-- Kept apart from `reading` because a unique index on a time-partitioned table
-- must contain the partition time, and a redelivered reading may carry a
-- different receive time.
create table reading_key (
  device_id text collate "C" not null,
  natural_key text collate "C" not null,
  primary key (device_id, natural_key)
);

create function heru_forbid_change() returns trigger
language plpgsql as $$
begin
  raise exception 'table % is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

create trigger raw_message_append_only before update or delete on raw_message
  for each row execute function heru_forbid_change();
create trigger reading_append_only before update or delete on reading
  for each row execute function heru_forbid_change();

-- Creates the monthly partitions of `parent` on `column` for [from_month, to_month).
-- A month whose rows already sit in the default partition is left there.
create function heru_ensure_month_partitions(parent text, from_month date, to_month date)
returns integer
language plpgsql as $$
declare
  m date := date_trunc('month', from_month);
  created integer := 0;
  part text;
begin
  while m < to_month loop
    part := format('%s_%s', parent, to_char(m, 'YYYYMM'));
    if to_regclass(part) is null then
      begin
        execute format(
          'create table %I partition of %I for values from (%L) to (%L)',
          part, parent, m::timestamptz, (m + interval '1 month')::timestamptz);
        created := created + 1;
      exception when check_violation then
        raise notice 'partition % skipped: its rows are in the default partition', part;
      end;
    end if;
    m := m + interval '1 month';
  end loop;
  return created;
end;
$$;
