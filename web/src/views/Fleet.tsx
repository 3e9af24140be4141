import { useEffect, useMemo, useState } from 'preact/hooks';
import { ago, celsius, percent, STATUS_TEXT } from '../format.js';
import type { Live } from '../live.js';
import { devicePath, follow } from '../router.js';
import type { DeviceStatus, FleetTile } from '../types.js';
import { Sparkline } from './Sparkline.js';

/** Every device as a tile, worst first, replaced live as the stream reports changes. */
export function FleetPage({ live }: { live: Live }) {
  const [filter, setFilter] = useState('');
  const now = useNow(10_000);
  const fleet = live.fleet;
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    if (!fleet) return [];
    if (f === '') return fleet.devices;
    return fleet.devices.filter(
      (t) =>
        t.device_id.toLowerCase().includes(f) ||
        (t.site ?? '').toLowerCase().includes(f) ||
        STATUS_TEXT[t.status].label.toLowerCase().includes(f),
    );
  }, [fleet, filter]);

  if (!fleet) return <p class="loading">Loading the fleet…</p>;
  return (
    <section>
      <div class="bar">
        <h1>Fleet</h1>
        <Summary tiles={fleet.devices} />
        <input
          type="search"
          class="filter"
          placeholder="Filter devices"
          aria-label="Filter devices"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
      </div>
      {fleet.devices.length === 0 ? (
        <p class="empty">
          No device has reported yet. Devices appear here with their first message.
        </p>
      ) : null}
      {fleet.spark.complete ? null : (
        <p class="hint">Reading the last 24 hours for the sparklines…</p>
      )}
      <ul class="tiles" data-spark={fleet.spark.complete ? 'complete' : 'partial'}>
        {shown.map((t) => (
          <Tile
            key={t.device_id}
            tile={t}
            now={now}
            changed={live.changed.has(t.device_id)}
          />
        ))}
      </ul>
    </section>
  );
}

function Summary({ tiles }: { tiles: FleetTile[] }) {
  const counts = new Map<DeviceStatus, number>();
  for (const t of tiles) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  return (
    <p class="summary">
      {[...counts].map(([s, n]) => (
        <span class={`pill st-${s}`}>
          {STATUS_TEXT[s].icon} {n} {STATUS_TEXT[s].label.toLowerCase()}
        </span>
      ))}
    </p>
  );
}

function Tile({
  tile,
  now,
  changed,
}: {
  tile: FleetTile;
  now: number;
  changed: boolean;
}) {
  const t = tile;
  const s = STATUS_TEXT[t.status];
  const others = t.statuses.slice(1).filter((x) => x !== 'in_range');
  const temp = t.last?.quality === 'invalid' ? null : t.last?.temperature_c;
  return (
    <li
      class={`tile st-${t.status}${changed ? ' changed' : ''}`}
      data-device={t.device_id}
      data-seen={t.last_seen_at ?? ''}
    >
      <a href={devicePath(t.device_id)} onClick={follow}>
        <div class="tile-head">
          <span class="name" title={t.device_id}>
            {t.device_id}
          </span>
          <span class={`badge st-${t.status}`}>
            {s.icon} {s.label}
          </span>
        </div>
        <div class="tile-value">
          <span class="temp">{celsius(temp)}</span>
          <span class="hum">{percent(t.last?.humidity_pct)} RH</span>
        </div>
        <Sparkline values={t.spark} range={t.range} />
        <div class="tile-foot">
          <span>
            {t.range.low}–{t.range.high} °C
            {t.site ? ` · ${t.site}` : ''}
          </span>
          <span title={t.last_seen_at ?? ''}>seen {ago(t.last_seen_at, now)}</span>
        </div>
        {others.length > 0 || t.unacknowledged > 0 ? (
          <div class="tile-more">
            {'! '}
            {others.map((o) => STATUS_TEXT[o].label).join(' · ')}
            {t.unacknowledged > 0
              ? `${others.length ? ' · ' : ''}${t.unacknowledged} alarm${t.unacknowledged > 1 ? 's' : ''} to acknowledge`
              : ''}
            {t.last?.battery_pct != null
              ? ` · battery ${Math.round(t.last.battery_pct)} %`
              : ''}
          </div>
        ) : null}
      </a>
    </li>
  );
}

/** Milliseconds now, refreshed every `everyMs`, for "seen 2 min ago". */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
