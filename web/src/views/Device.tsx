import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, type Session } from '../api.js';
import { saveFromApi } from '../download.js';
import { celsius, dateTime, KIND_TEXT, STATUS_TEXT } from '../format.js';
import type { Live } from '../live.js';
import { follow, navigate } from '../router.js';
import type { Series } from '../types.js';
import { Chart } from './Chart.js';
import { DailyTable, MktLine } from './Reports.js';
import { RecentReadings, exportReadings } from './Readings.js';

const MIN = 60_000;
const PRESETS: Array<[string, number]> = [
  ['15 min', 15 * MIN],
  ['1 h', 60 * MIN],
  ['6 h', 360 * MIN],
  ['24 h', 1440 * MIN],
  ['7 days', 7 * 1440 * MIN],
  ['30 days', 30 * 1440 * MIN],
];

interface Window {
  from: number;
  to: number;
  /** Follows the present (a preset) rather than a fixed, zoomed range. */
  live: boolean;
}

export function DevicePage({
  id,
  session,
  live,
}: {
  id: string;
  session: Session;
  live: Live;
}) {
  const [win, setWin] = useState<Window>(() => presetWindow(1440 * MIN));
  const [sensor, setSensor] = useState('');
  const [series, setSeries] = useState<Series | null>(null);
  const [error, setError] = useState<string | null>(null);
  const tile = live.fleet?.devices.find((t) => t.device_id === id);
  const lastSeen = tile?.last_seen_at;

  useEffect(() => {
    let stale = false;
    const q = new URLSearchParams({
      from: new Date(win.from).toISOString(),
      to: new Date(win.to).toISOString(),
      points: String(Math.min(2000, Math.max(200, Math.round(innerWidth)))),
      sensor,
    });
    getJson<Series>(
      session.token,
      `/api/v1/devices/${encodeURIComponent(id)}/series?${q}`,
    )
      .then((s) => !stale && (setSeries(s), setError(null)))
      .catch((err: Error) => !stale && setError(err.message));
    return () => {
      stale = true;
    };
  }, [id, win, sensor, session.token, live.alarmVersion]);

  // A live window moves on with each new reading of the device.
  const seen = useRef(lastSeen);
  useEffect(() => {
    if (seen.current === lastSeen) return;
    seen.current = lastSeen;
    setWin((w) => (w.live ? presetWindow(w.to - w.from) : w));
  }, [lastSeen]);

  const span = win.to - win.from;
  return (
    <section class="device">
      <p class="crumbs">
        <a href="/" onClick={follow}>
          Fleet
        </a>{' '}
        › {id}
      </p>
      <div class="bar">
        <h1>{id}</h1>
        {tile ? (
          <span class={`badge st-${tile.status}`}>
            {STATUS_TEXT[tile.status].icon} {STATUS_TEXT[tile.status].label}
          </span>
        ) : null}
        {tile?.last ? (
          <span class="now">
            {celsius(tile.last.quality === 'good' ? tile.last.temperature_c : null)} at{' '}
            {dateTime(tile.last.time)}
          </span>
        ) : null}
      </div>
      <div class="controls" role="group" aria-label="Time range">
        {PRESETS.map(([label, ms]) => (
          <button
            type="button"
            aria-pressed={win.live && span === ms}
            onClick={() => setWin(presetWindow(ms))}
          >
            {label}
          </button>
        ))}
        {series && series.sensors.length > 1 ? (
          <select value={sensor} onChange={(e) => setSensor(e.currentTarget.value)}>
            {series.sensors.map((s) => (
              <option value={s}>{s === '' ? 'main probe' : s}</option>
            ))}
          </select>
        ) : null}
      </div>
      {error ? <p class="error">{error}</p> : null}
      {series ? (
        <>
          <Chart
            series={series}
            onZoom={(from, to) => setWin({ from, to, live: false })}
            onPick={(rid) => navigate(`/proofs/${rid}`)}
          />
          <p class="legend">
            {dateTime(series.from)} – {dateTime(series.to)} ·{' '}
            {series.resolution === 'reading'
              ? `${series.t.length} readings (click one for its proof)`
              : `${series.t.length} buckets of ${bucketText(series.bucket_s!)}: mean line, min–max shaded`}
            {' · '}
            <span class="key range">
              range {series.range.low}–{series.range.high} °C
            </span>{' '}
            <span class="key exc">excursion</span> <span class="key gap">no data</span>{' '}
            <span class="key mark">alarm</span> · drag across the chart to zoom
          </p>
          <div class="actions">
            <button
              type="button"
              onClick={() =>
                void exportReadings(session.token, id, series.sensor, win.from, win.to)
              }
            >
              Export readings (CSV)
            </button>
            <button
              type="button"
              onClick={() =>
                void saveFromApi(
                  session.token,
                  `/api/v1/reports/daily?device=${encodeURIComponent(id)}&format=csv`,
                  `${id}-daily.csv`,
                )
              }
            >
              Daily report (CSV)
            </button>
          </div>
          {series.alarms.length > 0 ? (
            <>
              <h2>Alarms in this range</h2>
              <ul class="plain">
                {series.alarms.map((a) => (
                  <li>
                    <a href={`/alarms/${a.id}`} onClick={follow}>
                      #{a.id} {KIND_TEXT[a.kind] ?? a.kind}
                    </a>{' '}
                    — {a.summary} ({a.state}
                    {a.acknowledged_by ? `, acknowledged by ${a.acknowledged_by}` : ''})
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </>
      ) : (
        <p class="loading">Loading the chart…</p>
      )}
      <MktLine id={id} session={session} />
      <DailyTable id={id} session={session} version={live.alarmVersion} />
      <RecentReadings id={id} session={session} lastSeen={lastSeen ?? null} />
    </section>
  );
}

function presetWindow(ms: number): Window {
  const to = Date.now();
  return { from: to - ms, to, live: true };
}

function bucketText(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${s / 60} min`;
  if (s < 86400) return `${s / 3600} h`;
  return `${s / 86400} day`;
}
