-- Notification hub: recipients and their channels, the hub's view of each alarm
-- (for escalation), deliveries (the outbox the delivery worker polls) and one
-- record per delivery attempt. Recipients and channels are never deleted, only
-- marked, so every delivery keeps pointing at who it went to.

create table notify_recipient (
  id bigint generated always as identity primary key,
  name text not null,
  -- Which alarms concern this recipient: all of them, or one site, profile or device's.
  scope text not null check (scope in ('all', 'site', 'profile', 'device')),
  scope_value text,
  -- Escalation level: 0 hears first; level n hears when an alarm stays unacknowledged.
  level smallint not null default 0 check (level between 0 and 9),
  min_severity text not null default 'warning'
    check (min_severity in ('info', 'warning', 'critical')),
  -- Alarm kinds wanted; null means every kind.
  alarm_kinds text[],
  -- Which changes of an alarm are told: raised (and escalated), acknowledged, cleared.
  notify_on text[] not null default '{raised,cleared}',
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  check ((scope = 'all') = (scope_value is null))
);

create index notify_recipient_match_idx on notify_recipient (level, scope, scope_value)
  where deleted_at is null and enabled;

create table notify_channel (
  id bigint generated always as identity primary key,
  recipient_id bigint not null references notify_recipient (id),
  kind text not null check (kind in ('push', 'sms', 'email', 'webhook')),
  -- E.164 number, e-mail address, webhook URL or push endpoint.
  address text not null,
  push_p256dh text,
  push_auth text,
  webhook_secret text,
  enabled boolean not null default true,
  disabled_reason text,
  created_at timestamptz not null default now(),
  deleted_at timestamptz,
  check ((kind = 'push') = (push_p256dh is not null and push_auth is not null)),
  check ((kind = 'webhook') = (webhook_secret is not null))
);

create index notify_channel_recipient_idx on notify_channel (recipient_id)
  where deleted_at is null;
create unique index notify_channel_once_idx on notify_channel (recipient_id, kind, address)
  where deleted_at is null;

-- What the hub knows of each alarm it was told of; escalate_at is when the next
-- level is told unless the alarm is acknowledged first.
create table notify_alarm (
  alarm_id text primary key,
  kind text not null,
  severity text not null,
  device_id text,
  site text,
  profile text,
  summary text not null,
  since timestamptz not null,
  level smallint not null default 0,
  raised_at timestamptz not null,
  escalate_at timestamptz,
  acknowledged_at timestamptz,
  cleared_at timestamptz,
  updated_at timestamptz not null default now()
);

create index notify_alarm_escalate_idx on notify_alarm (escalate_at)
  where escalate_at is not null;

-- One notice to one channel. status: pending (due at next_attempt_at), sending
-- (claimed by a worker until next_attempt_at, its lease), sent, failed, or
-- coalesced (held back by the rate limit and told in the digest coalesced_into).
create table notify_delivery (
  id bigint generated always as identity primary key,
  alarm_id text,
  event text not null
    check (event in ('raised', 'escalated', 'acknowledged', 'cleared', 'test', 'digest')),
  level smallint not null default 0,
  recipient_id bigint not null references notify_recipient (id),
  channel_id bigint not null references notify_channel (id),
  kind text not null,
  status text not null
    check (status in ('pending', 'sending', 'sent', 'failed', 'coalesced')),
  message jsonb not null,
  -- The moment this delivery counts against the channel's rate limit.
  slot_at timestamptz not null,
  next_attempt_at timestamptz not null,
  attempts integer not null default 0,
  coalesced_into bigint references notify_delivery (id),
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  last_error text,
  check ((status = 'coalesced') = (coalesced_into is not null))
);

-- An alarm's change is told to a channel once, however often the event arrives.
create unique index notify_delivery_once_idx
  on notify_delivery (alarm_id, event, level, channel_id)
  where alarm_id is not null;
create index notify_delivery_due_idx on notify_delivery (next_attempt_at)
  where status in ('pending', 'sending');
create index notify_delivery_window_idx on notify_delivery (channel_id, slot_at)
  where status <> 'coalesced';
create index notify_delivery_alarm_idx on notify_delivery (alarm_id);
create index notify_delivery_recipient_idx on notify_delivery (recipient_id, created_at);

-- One row per attempt, append-only: what was tried, how long it took, what came back.
create table notify_attempt (
  id bigint generated always as identity primary key,
  delivery_id bigint not null references notify_delivery (id),
  attempt integer not null,
  started_at timestamptz not null,
  duration_ms integer not null,
  outcome text not null check (outcome in ('sent', 'retry', 'failed')),
  response_code integer,
  provider_ref text,
  error text,
  unique (delivery_id, attempt)
);

create trigger notify_attempt_append_only before update or delete on notify_attempt
  for each row execute function heru_forbid_change();
