/** Alarm events and API calls the notification hub's tests share. */
import type { AlarmEvent } from '../src/alarms/events.js';
import type { Pool } from '../src/db/pool.js';
import { waitFor } from './helpers/app.js';

let serial = 0;

/** An alarm event as the rule engine would emit it; fields may be overridden. */
export function alarmEvent(over: Partial<AlarmEvent> = {}): AlarmEvent {
  serial += 1;
  const now = new Date().toISOString();
  return {
    type: 'raised',
    alarmId: `t-${process.pid}-${serial}`,
    kind: 'excursion_immediate',
    severity: 'critical',
    deviceId: 'fridge-3',
    site: 'clinic-7',
    profile: 'vaccine_fridge',
    summary: 'Fridge 3 at 12.6 °C since 10:12 (limit 12.0 °C)',
    since: now,
    at: now,
    level: 0,
    ...over,
  };
}

/** POSTs JSON (with the API token, when given) and returns the status and parsed body. */
export async function post(
  url: string,
  body: unknown,
  method = 'POST',
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

export interface CreatedRecipient {
  id: string;
  channels: Array<{ id: string; kind: string; secret?: string }>;
}

/** Creates a recipient through the API; fails the test on anything but 201. */
export async function createRecipient(
  app: { baseUrl: string; token: string },
  body: unknown,
): Promise<CreatedRecipient> {
  const res = await post(`${app.baseUrl}/api/v1/recipients`, body, 'POST', app.token);
  if (res.status !== 201)
    throw new Error(`recipient not created: ${JSON.stringify(res.body)}`);
  return res.body as unknown as CreatedRecipient;
}

export interface DeliveryRow {
  id: string;
  kind: string;
  event: string;
  status: string;
  attempts: number;
  last_error: string | null;
  message: { title: string; text: string; digest?: { count: number } };
}

/** Waits until the deliveries of an alarm are all sent or failed; returns them. */
export async function settledDeliveries(
  pool: Pool,
  alarmId: string,
  expected: number,
  ms = 15_000,
): Promise<DeliveryRow[]> {
  return waitFor(
    async () => {
      const { rows } = await pool.query<DeliveryRow>(
        `select id::text, kind, event, status, attempts, last_error, message
         from notify_delivery where alarm_id = $1 order by id`,
        [alarmId],
      );
      const done = rows.filter((r) => r.status === 'sent' || r.status === 'failed');
      return rows.length >= expected && done.length === rows.length ? rows : undefined;
    },
    ms,
    `deliveries of alarm ${alarmId}`,
  );
}

/** Polls a synchronous condition (what a mock server has received) until it holds. */
export function waitUntil<T>(
  fn: () => T | undefined,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  return waitFor(() => Promise.resolve(fn()), ms, what);
}
