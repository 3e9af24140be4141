/**
 * Queries on `notify_recipient` and `notify_channel`. Removal only marks a row
 * (`deleted_at`), so past deliveries keep pointing at who they went to.
 */
import type { AlarmKind, AlarmSeverity } from '../alarms/events.js';
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import type { ChannelKind } from './channels/channel.js';
import type { ChannelInput, NotifyOn, RecipientInput, Scope } from './recipientInput.js';

/** A channel as the API shows it: never its secret, and a push endpoint only by its origin. */
export interface ChannelView {
  id: string;
  kind: ChannelKind;
  address: string;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
}

export interface RecipientView extends RecipientInput {
  id: string;
  created_at: string;
  updated_at: string;
  channels: ChannelView[];
}

interface RecipientRow {
  id: string;
  name: string;
  scope: Scope;
  scope_value: string | null;
  level: number;
  min_severity: AlarmSeverity;
  alarm_kinds: AlarmKind[] | null;
  notify_on: NotifyOn[];
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

interface ChannelRow {
  id: string;
  recipient_id: string;
  kind: ChannelKind;
  address: string;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
}

const RECIPIENT_COLUMNS = `id::text, name, scope, scope_value, level, min_severity, alarm_kinds,
  notify_on, enabled, created_at, updated_at`;
const CHANNEL_COLUMNS = `id::text, recipient_id::text, kind, address, enabled, disabled_reason, created_at`;

export async function listRecipients(pool: Pool): Promise<RecipientView[]> {
  const { rows } = await pool.query<RecipientRow>(
    `select ${RECIPIENT_COLUMNS} from notify_recipient where deleted_at is null order by id`,
  );
  return withChannels(pool, rows);
}

export async function getRecipient(
  db: Pool | PoolClient,
  id: string,
): Promise<RecipientView | undefined> {
  const { rows } = await db.query<RecipientRow>(
    `select ${RECIPIENT_COLUMNS} from notify_recipient where id = $1 and deleted_at is null`,
    [id],
  );
  return (await withChannels(db, rows))[0];
}

/** Creates a recipient and its channels in one transaction; returns the webhook secrets made. */
export async function createRecipient(
  pool: Pool,
  input: RecipientInput,
  channels: ChannelInput[],
): Promise<RecipientView> {
  return transaction(pool, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `insert into notify_recipient (name, scope, scope_value, level, min_severity, alarm_kinds, notify_on, enabled)
       values ($1, $2, $3, $4, $5, $6, $7, $8) returning id::text`,
      recipientValues(input),
    );
    const id = rows[0]!.id;
    for (const ch of channels) await insertChannel(c, id, ch);
    return (await getRecipient(c, id))!;
  });
}

export async function updateRecipient(
  pool: Pool,
  id: string,
  input: RecipientInput,
): Promise<RecipientView | undefined> {
  const { rowCount } = await pool.query(
    `update notify_recipient set name = $2, scope = $3, scope_value = $4, level = $5,
       min_severity = $6, alarm_kinds = $7, notify_on = $8, enabled = $9, updated_at = now()
     where id = $1 and deleted_at is null`,
    [id, ...recipientValues(input)],
  );
  return rowCount ? getRecipient(pool, id) : undefined;
}

/** Marks the recipient and its channels removed; false when there was none. */
export async function deleteRecipient(pool: Pool, id: string): Promise<boolean> {
  return transaction(pool, async (c) => {
    const { rowCount } = await c.query(
      `update notify_recipient set deleted_at = now(), updated_at = now()
       where id = $1 and deleted_at is null`,
      [id],
    );
    if (!rowCount) return false;
    await c.query(
      `update notify_channel set deleted_at = now() where recipient_id = $1 and deleted_at is null`,
      [id],
    );
    return true;
  });
}

/** Adds a channel; undefined when the recipient does not exist. */
export async function addChannel(
  pool: Pool,
  recipientId: string,
  input: ChannelInput,
): Promise<ChannelView | undefined> {
  return transaction(pool, async (c) => {
    const { rowCount } = await c.query(
      'select 1 from notify_recipient where id = $1 and deleted_at is null for update',
      [recipientId],
    );
    if (!rowCount) return undefined;
    return insertChannel(c, recipientId, input);
  });
}

export async function deleteChannel(
  pool: Pool,
  recipientId: string,
  channelId: string,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `update notify_channel set deleted_at = now()
     where id = $1 and recipient_id = $2 and deleted_at is null`,
    [channelId, recipientId],
  );
  return rowCount === 1;
}

async function insertChannel(
  c: PoolClient,
  recipientId: string,
  ch: ChannelInput,
): Promise<ChannelView> {
  const { rows } = await c.query<ChannelRow>(
    `insert into notify_channel (recipient_id, kind, address, push_p256dh, push_auth, webhook_secret)
     values ($1, $2, $3, $4, $5, $6) returning ${CHANNEL_COLUMNS}`,
    [
      recipientId,
      ch.kind,
      ch.address,
      ch.pushKeys?.p256dh ?? null,
      ch.pushKeys?.auth ?? null,
      ch.webhookSecret ?? null,
    ],
  );
  return channelView(rows[0]!);
}

function recipientValues(r: RecipientInput): unknown[] {
  return [
    r.name,
    r.scope,
    r.scope_value,
    r.level,
    r.min_severity,
    r.alarm_kinds,
    r.notify_on,
    r.enabled,
  ];
}

async function withChannels(
  db: Pool | PoolClient,
  rows: RecipientRow[],
): Promise<RecipientView[]> {
  if (rows.length === 0) return [];
  const { rows: channels } = await db.query<ChannelRow>(
    `select ${CHANNEL_COLUMNS} from notify_channel
     where recipient_id = any($1::bigint[]) and deleted_at is null order by id`,
    [rows.map((r) => r.id)],
  );
  return rows.map((r) => ({
    ...r,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    channels: channels.filter((ch) => ch.recipient_id === r.id).map(channelView),
  }));
}

function channelView(row: ChannelRow): ChannelView {
  return {
    id: row.id,
    kind: row.kind,
    // A push endpoint names one browser; listings show only whose service it is.
    address: row.kind === 'push' ? `${new URL(row.address).origin}/…` : row.address,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    created_at: row.created_at.toISOString(),
  };
}
