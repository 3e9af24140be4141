/** Reading deliveries and their attempts back, for the API. */
import type { Pool } from '../db/pool.js';
import type { NotifyMessage } from './message.js';

export interface AttemptView {
  attempt: number;
  started_at: string;
  duration_ms: number;
  outcome: 'sent' | 'retry' | 'failed';
  response_code: number | null;
  provider_ref: string | null;
  error: string | null;
}

export interface DeliveryView {
  id: string;
  alarm_id: string | null;
  event: string;
  level: number;
  recipient_id: string;
  channel_id: string;
  kind: string;
  status: string;
  attempts: number;
  created_at: string;
  next_attempt_at: string | null;
  finished_at: string | null;
  last_error: string | null;
  coalesced_into: string | null;
  message: NotifyMessage;
}

export interface DeliveryFilter {
  alarmId?: string;
  recipientId?: string;
  status?: string;
  /** Most rows, newest first; default 100. */
  limit: number;
}

const COLUMNS = `id::text, alarm_id, event, level, recipient_id::text, channel_id::text, kind,
  status, attempts, created_at, next_attempt_at, finished_at, last_error,
  coalesced_into::text, message`;

interface Row extends Omit<
  DeliveryView,
  'created_at' | 'next_attempt_at' | 'finished_at'
> {
  created_at: Date;
  next_attempt_at: Date;
  finished_at: Date | null;
}

export async function listDeliveries(
  pool: Pool,
  f: DeliveryFilter,
): Promise<DeliveryView[]> {
  const { rows } = await pool.query<Row>(
    `select ${COLUMNS} from notify_delivery
     where ($1::text is null or alarm_id = $1)
       and ($2::bigint is null or recipient_id = $2)
       and ($3::text is null or status = $3)
     order by id desc limit $4`,
    [f.alarmId ?? null, f.recipientId ?? null, f.status ?? null, f.limit],
  );
  return rows.map(view);
}

/** One delivery with every attempt, oldest first. */
export async function getDelivery(
  pool: Pool,
  id: string,
): Promise<(DeliveryView & { attempt_log: AttemptView[] }) | undefined> {
  const { rows } = await pool.query<Row>(
    `select ${COLUMNS} from notify_delivery where id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { rows: attempts } = await pool.query<
    Omit<AttemptView, 'started_at'> & { started_at: Date }
  >(
    `select attempt, started_at, duration_ms, outcome, response_code, provider_ref, error
     from notify_attempt where delivery_id = $1 order by attempt`,
    [id],
  );
  return {
    ...view(row),
    attempt_log: attempts.map((a) => ({ ...a, started_at: a.started_at.toISOString() })),
  };
}

function view(r: Row): DeliveryView {
  const pending = r.status === 'pending' || r.status === 'sending';
  return {
    ...r,
    created_at: r.created_at.toISOString(),
    next_attempt_at: pending ? r.next_attempt_at.toISOString() : null,
    finished_at: r.finished_at?.toISOString() ?? null,
  };
}
