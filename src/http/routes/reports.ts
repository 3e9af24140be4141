import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getDeviceProfile } from '../../alarms/profileStore.js';
import { getDevice } from '../../db/devices.js';
import type { Pool } from '../../db/pool.js';
import { dailyReportCsv } from '../../reports/csv.js';
import { dailyReport } from '../../reports/daily.js';
import { isTimeZone, localDate } from '../../reports/days.js';
import { mktReport } from '../../reports/mktReport.js';
import { ApiError } from '../errors.js';

type Query = Record<string, string | undefined>;

const MAX_DAYS = 366;
const DEFAULT_DAYS = 7;
const DAY_MS = 86_400_000;

/**
 * `GET /api/v1/reports/daily?device=&from=&to=&tz=` (dates `YYYY-MM-DD`, inclusive;
 * default the last 7 days; JSON, or CSV with `Accept: text/csv` or `format=csv`) and
 * `GET /api/v1/reports/mkt?device=&at=` (MKT over the 24 hours and 30 days before `at`).
 */
export function reportRoutes(app: FastifyInstance, pool: Pool): void {
  app.get<{ Querystring: Query }>('/api/v1/reports/daily', async (req, reply) => {
    const deviceId = await knownDevice(pool, req.query.device);
    const tz = timeZone(req.query.tz);
    const to = date(req.query.to, 'to') ?? localDate(Date.now(), tz);
    const from = date(req.query.from, 'from') ?? shiftDate(to, -(DEFAULT_DAYS - 1));
    const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (days < 1) throw new ApiError('BAD_REQUEST', '`from` must not be after `to`.');
    if (days > MAX_DAYS) {
      throw new ApiError(
        'BAD_REQUEST',
        `A report covers at most ${MAX_DAYS} days; ask for fewer.`,
      );
    }
    const report = (await dailyReport(pool, { deviceId, from, to, tz }))!;
    if (!wantsCsv(req)) return report;
    return reply
      .type('text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="${deviceId}_${from}_${to}.csv"`,
      )
      .send(dailyReportCsv(report));
  });

  app.get<{ Querystring: Query }>('/api/v1/reports/mkt', async (req) => {
    const deviceId = await knownDevice(pool, req.query.device);
    const at = req.query.at === undefined ? Date.now() : Date.parse(req.query.at);
    if (Number.isNaN(at))
      throw new ApiError('BAD_REQUEST', '`at` must be an ISO 8601 time.');
    const dp = (await getDeviceProfile(pool, deviceId))!;
    return mktReport(pool, deviceId, dp.profile.rules, at);
  });
}

async function knownDevice(pool: Pool, id: string | undefined): Promise<string> {
  if (id === undefined || id === '') {
    throw new ApiError(
      'BAD_REQUEST',
      '`device` is required: the id of the device to report on.',
    );
  }
  if (!(await getDevice(pool, id))) {
    throw new ApiError('DEVICE_NOT_FOUND', `No device ${JSON.stringify(id)}.`);
  }
  return id;
}

function timeZone(tz: string | undefined): string {
  if (tz === undefined || tz === '') return 'UTC';
  if (!isTimeZone(tz)) {
    throw new ApiError(
      'BAD_REQUEST',
      '`tz` must be an IANA time zone such as Europe/Zurich.',
    );
  }
  return tz;
}

function date(v: string | undefined, name: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = Date.parse(v);
  if (!/^\d{4}-\d\d-\d\d$/.test(v) || Number.isNaN(ms) || shiftDate(v, 0) !== v) {
    throw new ApiError('BAD_REQUEST', `\`${name}\` must be a date, YYYY-MM-DD.`);
  }
  return v;
}

function shiftDate(d: string, days: number): string {
  return new Date(Date.parse(d) + days * DAY_MS).toISOString().slice(0, 10);
}

function wantsCsv(req: FastifyRequest<{ Querystring: Query }>): boolean {
  if (req.query.format !== undefined) {
    if (req.query.format === 'csv') return true;
    if (req.query.format === 'json') return false;
    throw new ApiError('BAD_REQUEST', '`format` must be json or csv.');
  }
  return /\btext\/csv\b/.test(req.headers.accept ?? '');
}
