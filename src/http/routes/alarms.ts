import type { FastifyInstance } from 'fastify';
import {
  listAlarms,
  type AlarmFilter,
  type AlarmStateFilter,
} from '../../alarms/alarmQuery.js';
import { acknowledgeAlarm, getAlarm, listActions } from '../../alarms/alarmStore.js';
import type { AlarmKind } from '../../alarms/events.js';
import { actor, bodyObject, comment, InputError, reason } from '../../alarms/input.js';
import { closeAlarm } from '../../alarms/manualClose.js';
import { alarmEvent, type AlarmNotifier } from '../../alarms/notifier.js';
import type { Pool } from '../../db/pool.js';
import { actingAs } from '../actingAs.js';
import { ApiError } from '../errors.js';
import { queryTime } from '../queryTime.js';

type Query = Record<string, string | undefined>;

const STATES: readonly AlarmStateFilter[] = [
  'open',
  'acknowledged',
  'cleared',
  'active',
  'unacknowledged',
];
const KINDS: readonly AlarmKind[] = [
  'excursion_high',
  'excursion_low',
  'excursion_immediate',
  'cumulative_excursion',
  'sensor_fault',
  'device_offline',
  'low_battery',
  'historical_excursion',
  'operator',
];
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * `GET /api/v1/alarms` (filters: `device`, `state`, `kind`, `historical`, `from`,
 * `to`, `limit`, `before`), `GET /api/v1/alarms/{id}` with its audit trail,
 * `POST /api/v1/alarms/{id}/ack` with `{"comment": …}`, and
 * `POST /api/v1/alarms/{id}/close` with `{"reason": …}` (manualClose.ts).
 */
export function alarmRoutes(
  app: FastifyInstance,
  pool: Pool,
  notifier: AlarmNotifier,
): void {
  app.get<{ Querystring: Query }>('/api/v1/alarms', async (req) => {
    const filter = parseAlarmFilter(req.query);
    const alarms = await listAlarms(pool, filter);
    const next = alarms.length === filter.limit ? (alarms.at(-1)?.id ?? null) : null;
    return { alarms, next };
  });

  app.get<{ Params: { id: string } }>('/api/v1/alarms/:id', async (req) => {
    const id = alarmId(req.params.id);
    const alarm = await getAlarm(pool, id);
    if (!alarm) throw new ApiError('ALARM_NOT_FOUND', `No alarm ${id}.`);
    return { ...alarm, actions: await listActions(pool, id) };
  });

  app.post<{ Params: { id: string } }>('/api/v1/alarms/:id/ack', async (req) => {
    const id = alarmId(req.params.id);
    const { by, text } = parseAck(actingAs(req));
    const result = await acknowledgeAlarm(pool, id, by, text);
    if (result.outcome === 'not_found')
      throw new ApiError('ALARM_NOT_FOUND', `No alarm ${id}.`);
    if (result.outcome === 'already') {
      const a = result.alarm;
      throw new ApiError(
        'ALARM_ALREADY_ACKNOWLEDGED',
        `Alarm ${id} was acknowledged by ${a.acknowledged_by ?? '?'} at ` +
          `${a.acknowledged_at?.toISOString() ?? '?'}; its trail keeps that acknowledgement.`,
      );
    }
    const a = result.alarm;
    notifier.emit({
      ...alarmEvent('acknowledged', a, `${a.summary} — acknowledged by ${by}`),
      actor: by,
    });
    req.log.info({ alarmId: id, by }, 'alarm acknowledged');
    return a;
  });

  app.post<{ Params: { id: string } }>('/api/v1/alarms/:id/close', async (req) => {
    const id = alarmId(req.params.id);
    const { by, why } = parseClose(actingAs(req));
    const result = await closeAlarm(pool, id, by, why);
    if (result.outcome === 'not_found')
      throw new ApiError('ALARM_NOT_FOUND', `No alarm ${id}.`);
    if (result.outcome === 'already_cleared') {
      throw new ApiError(
        'ALARM_ALREADY_CLEARED',
        `Alarm ${id} was cleared at ${result.alarm.cleared_at?.toISOString() ?? '?'}; ` +
          'there is nothing to close.',
      );
    }
    if (result.outcome === 'still_out') {
      throw new ApiError(
        'ALARM_STILL_OUT_OF_RANGE',
        `Alarm ${id} cannot be closed: ${result.alarm.device_id ?? '?'} is ${result.why}. ` +
          'The excursion ends with the first reading back in range; acknowledge it ' +
          'meanwhile. A device taken out of service can be disabled first ' +
          `(PATCH /api/v1/devices/${result.alarm.device_id ?? '{id}'} with ` +
          '{"status": "disabled"}), then its alarms closed.',
      );
    }
    const a = result.alarm;
    notifier.emit({
      ...alarmEvent('cleared', a, `${a.summary} — closed by ${by}: ${why}`),
      actor: by,
    });
    req.log.info({ alarmId: id, by }, 'alarm closed by hand');
    return a;
  });
}

function alarmId(raw: string): string {
  if (!/^\d{1,18}$/.test(raw))
    throw new ApiError('BAD_REQUEST', 'An alarm id is a whole number.');
  return raw;
}

function parseAck(body: unknown): { by: string; text: string | null } {
  try {
    const o = bodyObject(
      body,
      '{"by": "nurse.jane", "comment": "door closed, checked stock"}',
    );
    return { by: actor(o), text: comment(o) };
  } catch (err) {
    if (err instanceof InputError) throw new ApiError('BAD_REQUEST', err.message);
    throw err;
  }
}

function parseClose(body: unknown): { by: string; why: string } {
  try {
    const o = bodyObject(body, '{"reason": "device retired, fridge emptied on 3 March"}');
    // A comment (or the "on behalf of" a shared token adds) goes with the reason.
    const note = comment(o);
    return { by: actor(o), why: note === null ? reason(o) : `${reason(o)} (${note})` };
  } catch (err) {
    if (err instanceof InputError) throw new ApiError('BAD_REQUEST', err.message);
    throw err;
  }
}

/** The filters of `GET /api/v1/alarms`; a wrong one is a 400 that names it. */
export function parseAlarmFilter(q: Query): AlarmFilter {
  const f: AlarmFilter = { limit: limitOf(q.limit) };
  if (q.device !== undefined) f.deviceId = q.device;
  if (q.state !== undefined) f.state = oneOf(q.state, 'state', STATES);
  if (q.kind !== undefined) f.kind = oneOf(q.kind, 'kind', KINDS);
  if (q.historical !== undefined)
    f.historical = oneOf(q.historical, 'historical', ['true', 'false']) === 'true';
  if (q.from !== undefined) f.from = queryTime(q.from, 'from');
  if (q.to !== undefined) f.to = queryTime(q.to, 'to');
  if (f.from && f.to && f.from >= f.to)
    throw new ApiError('BAD_REQUEST', '`from` must be before `to`.');
  if (q.before !== undefined) f.before = alarmId(q.before);
  return f;
}

function oneOf<T extends string>(v: string, name: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new ApiError('BAD_REQUEST', `\`${name}\` must be one of ${allowed.join(', ')}.`);
}

function limitOf(v: string | undefined): number {
  if (v === undefined) return DEFAULT_LIMIT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new ApiError(
      'BAD_REQUEST',
      `\`limit\` must be a whole number from 1 to ${MAX_LIMIT}.`,
    );
  }
  return n;
}
