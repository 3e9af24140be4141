-- Device registry: what an operator declares about a device (its site, how it proves
-- who it is, whether it may send readings) beside what ingest counts of it.
--
-- A device ingest created on its first message, which nobody registered, keeps
-- `registered_at` null and the status 'active': it goes on as before. A device
-- registered before it first reports has no first or last message yet, so those two
-- times may now be null (ingest's least()/greatest() ignore a null).

alter table device
  add column status text not null default 'active'
    check (status in ('active', 'disabled')),
  add column site text,
  add column credentials text
    check (credentials in ('certificate', 'password', 'none')),
  add column cert_fingerprint text
    check (cert_fingerprint ~ '^[0-9a-f]{64}$'),
  add column registered_at timestamptz,
  add column registered_by text,
  add constraint device_registered_has_credentials
    check (registered_at is null or credentials is not null),
  alter column first_seen_at drop not null,
  alter column last_seen_at drop not null;

-- Who changed what in the registry, and when: one row per change, never updated.
create table device_change (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  by text not null,
  device_id text collate "C" not null,
  action text not null check (action in ('registered', 'updated', 'disabled', 'enabled')),
  old jsonb,
  new jsonb not null,
  comment text
);

create index device_change_device_idx on device_change (device_id, at);

create trigger device_change_append_only before update or delete on device_change
  for each row execute function heru_forbid_change();

-- Ingest holds the registry in memory; a change, whoever makes it (the API, the CLI,
-- plain SQL), tells it to load again. Ingest's own upserts touch neither column of
-- the update trigger, and the rows it creates are unregistered and active.
create function heru_device_registry_notify() returns trigger
language plpgsql as $$
begin
  perform pg_notify('heru_devices', new.device_id);
  return null;
end;
$$;

create trigger device_registry_insert after insert on device
  for each row when (new.registered_at is not null or new.status <> 'active')
  execute function heru_device_registry_notify();

create trigger device_registry_update after update of status, registered_at on device
  for each row execute function heru_device_registry_notify();
