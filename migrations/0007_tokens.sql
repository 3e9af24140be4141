-- API tokens: who may call /api/v1 and with which role. Only the SHA-256 of a token
-- is kept; the token itself is shown once, when `heru token create` makes it.
create table api_token (
  id bigint generated always as identity primary key,
  name text not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
  role text not null check (role in ('viewer', 'operator', 'admin')),
  hash bytea not null unique check (length(hash) = 32),
  created_at timestamptz not null default now(),
  created_by text not null,
  revoked_at timestamptz,
  revoked_by text
);

-- A name names one live token: the actor recorded for what that token changes.
create unique index api_token_live_name_idx on api_token (name) where revoked_at is null;

-- Every change made through the API (any method but GET and HEAD), with the token that
-- made it: the trail for parts that keep no "who" of their own. Never updated.
create table api_change (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  token_id bigint not null references api_token (id),
  token_name text not null,
  method text not null,
  route text not null,
  path text not null,
  status int not null
);

create index api_change_token_idx on api_change (token_id, at);

create trigger api_change_append_only before update or delete on api_change
  for each row execute function heru_forbid_change();
