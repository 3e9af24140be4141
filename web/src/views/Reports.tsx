import { useEffect, useState } from 'preact/hooks';
import { getJson, type Session } from '../api.js';

interface MktReport {
  sensors: Array<{
    sensor: string;
    windows: Array<{ window: '24h' | '30d'; mkt_c: number | null; covered: number }>;
  }>;
}

interface DailyReport {
  time_zone: string;
  days: Array<{
    date: string;
    sensor: string;
    readings: number;
    invalid_readings: number;
    min_c: number | null;
    max_c: number | null;
    mean_c: number | null;
    mkt_c: number | null;
    minutes_below: number;
    minutes_above: number;
    minutes_no_data: number;
    alarms: Array<{ id: string }>;
  }>;
}

const c = (v: number | null): string => (v === null ? '—' : v.toFixed(1));

/** Mean kinetic temperature over the last 24 hours and 30 days. */
export function MktLine({ id, session }: { id: string; session: Session }) {
  const [mkt, setMkt] = useState<MktReport | null>(null);
  useEffect(() => {
    getJson<MktReport>(
      session.token,
      `/api/v1/reports/mkt?device=${encodeURIComponent(id)}`,
    )
      .then(setMkt)
      .catch(() => setMkt(null));
  }, [id, session.token]);
  if (!mkt) return null;
  return (
    <div class="mkt">
      <h2>Mean kinetic temperature</h2>
      {mkt.sensors.map((s) => (
        <p>
          {s.sensor ? <strong>{s.sensor}: </strong> : null}
          {s.windows.map((w) => (
            <span class="mkt-w">
              {w.window === '24h' ? 'last 24 h' : 'last 30 days'}:{' '}
              <strong>{w.mkt_c === null ? '—' : `${w.mkt_c.toFixed(2)} °C`}</strong> (
              {Math.round(w.covered * 100)} % covered)
            </span>
          ))}
        </p>
      ))}
    </div>
  );
}

/** The daily report of the last 7 days, as an inspector reads it. */
export function DailyTable({
  id,
  session,
  version,
}: {
  id: string;
  session: Session;
  version: number;
}) {
  const [report, setReport] = useState<DailyReport | null>(null);
  useEffect(() => {
    getJson<DailyReport>(
      session.token,
      `/api/v1/reports/daily?device=${encodeURIComponent(id)}`,
    )
      .then(setReport)
      .catch(() => setReport(null));
  }, [id, session.token, version]);
  if (!report) return null;
  const days = [...report.days].reverse();
  return (
    <div class="daily">
      <h2>Daily report ({report.time_zone})</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Day</th>
              <th>Readings</th>
              <th>Min °C</th>
              <th>Max °C</th>
              <th>Mean °C</th>
              <th>MKT °C</th>
              <th>Min below</th>
              <th>Min above</th>
              <th>Min no data</th>
              <th>Alarms</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr class={d.minutes_above + d.minutes_below > 0 ? 'bad' : ''}>
                <td>
                  {d.date}
                  {d.sensor ? ` (${d.sensor})` : ''}
                </td>
                <td>
                  {d.readings}
                  {d.invalid_readings > 0 ? ` (${d.invalid_readings} invalid)` : ''}
                </td>
                <td>{c(d.min_c)}</td>
                <td>{c(d.max_c)}</td>
                <td>{c(d.mean_c)}</td>
                <td>{c(d.mkt_c)}</td>
                <td>{Math.round(d.minutes_below)}</td>
                <td>{Math.round(d.minutes_above)}</td>
                <td>{Math.round(d.minutes_no_data)}</td>
                <td>{d.alarms.length || ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
