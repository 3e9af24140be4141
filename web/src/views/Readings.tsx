import { useEffect, useState } from 'preact/hooks';
import { getJson, type Session } from '../api.js';
import { csvField, saveText } from '../download.js';
import { celsius, dateTime, percent } from '../format.js';
import { follow } from '../router.js';
import type { Reading } from '../types.js';

interface Page {
  readings: Reading[];
  next: string | null;
}

const PAGE = 10_000;
/** Readings one export fetches at most (ten pages). */
const EXPORT_LIMIT = 100_000;

/** The device's latest readings, each with a link to its proof. */
export function RecentReadings({
  id,
  session,
  lastSeen,
}: {
  id: string;
  session: Session;
  lastSeen: string | null;
}) {
  const [rows, setRows] = useState<Reading[] | null>(null);
  useEffect(() => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    getJson<Page>(
      session.token,
      `/api/v1/devices/${encodeURIComponent(id)}/readings?from=${from}&limit=${PAGE}`,
    )
      .then((p) => setRows(p.readings.slice(-8).reverse()))
      .catch(() => setRows(null));
  }, [id, session.token, lastSeen]);
  if (!rows || rows.length === 0) return null;
  return (
    <div class="recent">
      <h2>Latest readings</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Temperature</th>
              <th>Humidity</th>
              <th>Quality</th>
              <th>Proof</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>{dateTime(r.time)}</td>
                <td>{celsius(r.temperature_c)}</td>
                <td>{percent(r.humidity_pct)}</td>
                <td>
                  {r.quality === 'good' ? 'good' : `invalid (${r.flags.join(', ')})`}
                </td>
                <td>
                  <a href={`/proofs/${r.id}`} onClick={follow}>
                    reading {r.id}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Every reading of the range as CSV, page by page (at most EXPORT_LIMIT). */
export async function exportReadings(
  token: string,
  id: string,
  sensor: string,
  from: number,
  to: number,
): Promise<void> {
  const lines = [
    'id,device_id,sensor,time,time_source,temperature_c,humidity_pct,battery_pct,quality,flags',
  ];
  const base = `/api/v1/devices/${encodeURIComponent(id)}/readings?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&limit=${PAGE}`;
  let cursor: string | null = null;
  let count = 0;
  do {
    const page: Page = await getJson<Page>(
      token,
      cursor ? `${base}&cursor=${encodeURIComponent(cursor)}` : base,
    );
    for (const r of page.readings) {
      if (r.sensor !== sensor) continue;
      lines.push(
        [
          r.id,
          r.device_id,
          r.sensor,
          r.time,
          r.time_source,
          r.temperature_c,
          r.humidity_pct,
          r.battery_pct,
          r.quality,
          r.flags.join(' '),
        ]
          .map(csvField)
          .join(','),
      );
    }
    count += page.readings.length;
    cursor = page.next;
  } while (cursor && count < EXPORT_LIMIT);
  if (cursor) lines.push(`# cut at ${EXPORT_LIMIT} readings: choose a shorter range`);
  saveText(`${id}-readings.csv`, `${lines.join('\n')}\n`);
}
