-- Anchoring: readings gathered into batches, each batch's Merkle root pinned to IPFS
-- in a manifest and ordered on a ledger, and each reading's place in its batch.
-- Readings stay append-only: anchoring state lives in these tables.

-- Readings not yet in a batch. Filled in the same transaction that stores the
-- readings, so PostgreSQL alone says what is still unanchored: a reading is either
-- here or in anchor_proof, never neither.
create table anchor_pending (
  reading_id bigint primary key,
  reading_time timestamptz not null,
  queued_at timestamptz not null default now()
);

create index anchor_pending_queued_idx on anchor_pending (queued_at, reading_id);

create function heru_anchor_pending() returns trigger
language plpgsql as $$
begin
  insert into anchor_pending (reading_id, reading_time)
  select id, time from stored_readings;
  return null;
end;
$$;

-- One statement-level insert per ingest commit, not one per reading.
create trigger reading_anchor_pending after insert on reading
  referencing new table as stored_readings
  for each statement execute function heru_anchor_pending();

-- Readings stored before anchoring existed wait like any other.
insert into anchor_pending (reading_id, reading_time, queued_at)
select id, time, received_at from reading;

create sequence anchor_batch_id_seq as bigint;

-- One batch: its readings' Merkle root and where it was anchored. The state only
-- moves forward: pending (sealed, root known) -> pinned (manifest on IPFS) ->
-- prepared (signed ledger transaction stored) -> submitted (sent, receipt not yet
-- recorded) -> anchored (receipt recorded); failed_permanent when the ledger refused
-- it for good (bad key, bad topic) and an operator must act.
create table anchor_batch (
  id bigint primary key default nextval('anchor_batch_id_seq'),
  state text not null default 'pending'
    check (state in ('pending', 'pinned', 'prepared', 'submitted', 'anchored',
                     'failed_permanent')),
  scheme text not null,
  window_start timestamptz not null,
  window_end timestamptz not null,
  reading_count integer not null check (reading_count > 0),
  root bytea not null check (length(root) = 32),
  -- What the manifest lists besides the leaves: 'leaves' only, or the 'readings' too.
  manifest_content text not null check (manifest_content in ('leaves', 'readings')),
  manifest_cid text,
  pinned_at timestamptz,
  ledger text,
  transaction_id text,
  transaction_bytes bytea,
  prepared_at timestamptz,
  submitted_at timestamptz,
  topic_id text,
  sequence_number bigint,
  consensus_time text,
  running_hash bytea,
  anchored_at timestamptz,
  -- Filing with a Guardian policy, when one is configured: pending until filed.
  guardian_state text check (guardian_state in ('pending', 'filed', 'failed')),
  guardian_filed_at timestamptz,
  attempts integer not null default 0,
  last_error text,
  lease_owner text,
  lease_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (state in ('pending', 'failed_permanent') or manifest_cid is not null),
  check (state not in ('prepared', 'submitted', 'anchored')
         or transaction_bytes is not null),
  check (state <> 'anchored' or sequence_number is not null)
);

create index anchor_batch_unfinished_idx on anchor_batch (id)
  where state <> 'anchored' or guardian_state = 'pending';

create unique index anchor_batch_transaction_idx on anchor_batch (transaction_id)
  where transaction_id is not null;

-- What a batch proves never changes once sealed, and a batch is never deleted.
create function heru_anchor_batch_fixed() returns trigger
language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'anchor_batch rows are kept: DELETE is not allowed'
      using errcode = 'insufficient_privilege';
  end if;
  if (new.scheme, new.window_start, new.window_end, new.reading_count, new.root,
      new.manifest_content)
     is distinct from
     (old.scheme, old.window_start, old.window_end, old.reading_count, old.root,
      old.manifest_content) then
    raise exception 'anchor_batch % is sealed: its root, count, scheme and window are fixed',
      old.id using errcode = 'insufficient_privilege';
  end if;
  return new;
end;
$$;

create trigger anchor_batch_fixed before update or delete on anchor_batch
  for each row execute function heru_anchor_batch_fixed();

-- Each reading's leaf in its batch; with the batch's leaves this gives its proof.
-- batch_id has no foreign key: rows come 10,000 at a time with their batch, neither
-- table allows deletes, and a per-row check would cost a fifth of the sealing time.
-- Not yet partitioned by time: matters past a few billion readings.
create table anchor_proof (
  reading_id bigint primary key,
  reading_time timestamptz not null,
  batch_id bigint not null,
  leaf_index integer not null check (leaf_index >= 0),
  leaf_hash bytea not null check (length(leaf_hash) = 32),
  unique (batch_id, leaf_index)
);

create trigger anchor_proof_append_only before update or delete on anchor_proof
  for each row execute function heru_forbid_change();

-- The local ledger: an append-only, hash-chained message log per topic that follows
-- the Hedera Consensus Service's rules (sequence numbers from 1, nanosecond
-- consensus times, running hash version 3), used when no ledger is configured.
create table local_ledger_topic (
  topic_id text primary key,
  sequence_number bigint not null default 0,
  running_hash bytea not null default decode(repeat('00', 48), 'hex'),
  last_consensus_ns numeric not null default 0
);

create table local_ledger_message (
  topic_id text not null references local_ledger_topic (topic_id),
  sequence_number bigint not null,
  consensus_time text not null,
  transaction_id text not null unique,
  payer_account_id text not null,
  message bytea not null,
  running_hash bytea not null,
  running_hash_version integer not null,
  primary key (topic_id, sequence_number)
);

create trigger local_ledger_message_append_only
  before update or delete on local_ledger_message
  for each row execute function heru_forbid_change();
