import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../src/dashboard/fleet.js';
import { bucketWidth } from '../src/dashboard/series.js';
import { ensureWebBuilt } from '../scripts/build-web.js';
import { createTestToken } from './helpers/apiToken.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { seedFleet } from './helpers/dashboardSeed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

let db: TestDatabase;
let app: TestApp;
const HOUR = 3600_000;

async function raise(device: string, kind: string, ruleId: string): Promise<string> {
  const { rows } = await app.pool.query<{ id: string }>(
    `insert into alarm (device_id, rule_id, kind, severity, state, profile, since, summary)
     values ($1, $2, $3, 'critical', 'open', 'vaccine_fridge', now() - interval '2 hours',
             $1 || ' warm') returning id::text`,
    [device, ruleId, kind],
  );
  return rows[0]!.id;
}

beforeAll(async () => {
  await ensureWebBuilt();
  db = await createTestDatabase();
  app = await startTestApp({ databaseUrl: db.url, roles: { ingest: false, api: true } });
  await seedFleet(
    app.pool,
    [
      { id: 'f-ok', site: 'North' },
      { id: 'f-alarm', warm: [3, 1] },
      { id: 'f-warm', warm: [0.5, 0] },
      { id: 'f-silent', silentMinutes: 120 },
      { id: 'f-probe', invalidLast: true },
      { id: 'f-gap', gap: [10, 6] },
    ],
    { hours: 24 * 30, everyS: 60 },
  );
  await raise('f-alarm', 'excursion_high', 'heat');
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

interface Tile {
  device_id: string;
  status: string;
  statuses: string[];
  spark: Array<number | null>;
  last: { temperature_c: number | null } | null;
  unacknowledged: number;
}

describe('the fleet summary', () => {
  it('lists every device worst first, with a status in words and the reason for it', async () => {
    const res = await app.api('/api/v1/fleet');
    expect(res.status).toBe(200);
    const fleet = (await res.json()) as { devices: Tile[]; spark: { buckets: number } };
    expect(fleet.devices.map((d) => [d.device_id, d.status])).toEqual([
      ['f-alarm', 'excursion'],
      ['f-warm', 'out_of_range'],
      ['f-silent', 'offline'],
      ['f-probe', 'sensor_fault'],
      ['f-gap', 'in_range'],
      ['f-ok', 'in_range'],
    ]);
    expect(fleet.devices[0]!.unacknowledged).toBe(1);
    expect(fleet.devices.find((d) => d.device_id === 'f-probe')!.last).toMatchObject({
      temperature_c: null,
    });
  });

  it('gives each device 48 half-hour means for its sparkline, null where there was none', async () => {
    const fleet = await loadFleet(app.pool);
    const gap = fleet.devices.find((d) => d.device_id === 'f-gap')!;
    const ok = fleet.devices.find((d) => d.device_id === 'f-ok')!;
    expect(ok.spark).toHaveLength(48);
    expect(ok.spark.filter((v) => v === null)).toHaveLength(0);
    // Readings 6 to 10 hours ago are missing: about 8 empty half hours.
    const empty = gap.spark.filter((v) => v === null).length;
    expect(empty).toBeGreaterThanOrEqual(7);
    expect(empty).toBeLessThanOrEqual(8);
    const warm = fleet.devices.find((d) => d.device_id === 'f-alarm')!;
    expect(Math.max(...warm.spark.map((v) => v ?? 0))).toBeGreaterThan(8.5);
  });
});

interface Series {
  resolution: string;
  bucket_s: number | null;
  t: number[];
  temperature: Array<number | null>;
  min: Array<number | null>;
  max: Array<number | null>;
  count: number[];
  ids: string[] | null;
  gaps: Array<{ from: string; to: string }>;
  alarms: Array<{ id: string; kind: string }>;
}

describe('the series of a device', () => {
  it('aggregates 30 days of readings every minute into at most `points` buckets in SQL', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 24 * HOUR);
    const q = `from=${from.toISOString()}&to=${to.toISOString()}&points=500`;
    const res = await app.api(`/api/v1/devices/f-ok/series?${q}`);
    expect(res.status).toBe(200);
    const s = (await res.json()) as Series;
    expect(s.resolution).toBe('bucket');
    expect(s.bucket_s).toBe(bucketWidth(30 * 24 * HOUR, 500));
    expect(s.t.length).toBeLessThanOrEqual(500);
    expect(s.count.reduce((a, b) => a + b, 0)).toBeGreaterThan(43_000);
    expect(s.ids).toBeNull();

    // One bucket against the readings themselves.
    const i = Math.floor(s.t.length / 2);
    const { rows } = await app.pool.query<{ avg: number; min: number; max: number }>(
      `select avg(temperature_c) as avg, min(temperature_c) as min, max(temperature_c) as max
       from reading where device_id = 'f-ok' and time >= $1 and time < $2`,
      [new Date(s.t[i]!), new Date(s.t[i]! + s.bucket_s! * 1000)],
    );
    expect(s.temperature[i]).toBeCloseTo(rows[0]!.avg, 2);
    expect(s.min[i]).toBe(rows[0]!.min);
    expect(s.max[i]).toBe(rows[0]!.max);
  });

  it('gives the readings themselves, with their ids, for a short range', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 60_000);
    const res = await app.api(
      `/api/v1/devices/f-ok/series?from=${from.toISOString()}&to=${to.toISOString()}`,
    );
    const s = (await res.json()) as Series;
    expect(s.resolution).toBe('reading');
    expect(s.t.length).toBe(s.ids!.length);
    expect(s.t.length).toBeGreaterThanOrEqual(29);
    expect(s.gaps).toEqual([]);
  });

  it('shows the stretch without readings as a gap and the excursion alarm in range', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 24 * HOUR);
    const q = `from=${from.toISOString()}&to=${to.toISOString()}`;
    const gap = (await (
      await app.api(`/api/v1/devices/f-gap/series?${q}`)
    ).json()) as Series;
    expect(gap.gaps).toHaveLength(1);
    const hours = (Date.parse(gap.gaps[0]!.to) - Date.parse(gap.gaps[0]!.from)) / HOUR;
    expect(hours).toBeGreaterThan(3.5);
    expect(hours).toBeLessThan(4.6);
    const warm = (await (
      await app.api(`/api/v1/devices/f-alarm/series?${q}`)
    ).json()) as Series;
    expect(warm.alarms.map((a) => a.kind)).toEqual(['excursion_high']);
  });

  it('refuses a range it cannot serve, naming the field', async () => {
    const bad = await app.api('/api/v1/devices/f-ok/series?from=yesterday');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toContain('`from`');
    const impossible = await app.api('/api/v1/devices/f-ok/series?from=2026-02-30');
    expect(impossible.status).toBe(400);
    const day = await app.api(
      '/api/v1/devices/f-ok/series?from=2026-02-28&to=2026-03-01',
    );
    expect(day.status).toBe(200);
    const points = await app.api('/api/v1/devices/f-ok/series?points=5');
    expect(points.status).toBe(400);
    const unknown = await app.api('/api/v1/devices/nope/series');
    expect(unknown.status).toBe(404);
  });
});

describe('the live stream', () => {
  it('needs a token in the Authorization header', async () => {
    const res = await fetch(`${app.baseUrl}/api/v1/stream`);
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it('starts with the whole fleet, then sends the tile of a device that spoke', async () => {
    const viewer = await createTestToken(app.pool, 'viewer');
    const abort = new AbortController();
    const res = await fetch(`${app.baseUrl}/api/v1/stream`, {
      headers: { authorization: `Bearer ${viewer}` },
      signal: abort.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = readEvents(res.body!);
    try {
      const first = await events.next();
      expect(first.name).toBe('fleet');
      expect((first.data as { devices: Tile[] }).devices).toHaveLength(6);

      await seedFleet(app.pool, [{ id: 'f-ok', site: 'North', silentMinutes: 0 }], {
        hours: 0,
        everyS: 60,
      });
      const tiles = await waitFor(
        async () => {
          const e = await events.next();
          return e.name === 'tiles' ? e : undefined;
        },
        20_000,
        'a tiles event',
      );
      const changed = (tiles.data as { tiles: Tile[] }).tiles.map((t) => t.device_id);
      expect(changed).toEqual(['f-ok']);
    } finally {
      abort.abort();
    }
  });
});

describe('the dashboard files', () => {
  it('serves the page at / and at the app paths, with a policy that keeps it on this origin', async () => {
    for (const path of ['/', '/devices/f-ok', '/alarms/3', '/proofs/9']) {
      const res = await fetch(`${app.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await res.text()).toContain('/app.js');
    }
  });

  it('serves the bundle, the service worker and the manifest with ETags', async () => {
    for (const [path, type] of [
      ['/app.js', 'text/javascript'],
      ['/sw.js', 'text/javascript'],
      ['/manifest.webmanifest', 'application/manifest+json'],
      ['/icon-192.png', 'image/png'],
    ] as const) {
      const res = await fetch(`${app.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      const etag = res.headers.get('etag')!;
      await res.arrayBuffer();
      const again = await fetch(`${app.baseUrl}${path}`, {
        headers: { 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
    }
  });

  it('loads nothing from another origin', async () => {
    const html = await (await fetch(`${app.baseUrl}/`)).text();
    const js = await (await fetch(`${app.baseUrl}/app.js`)).text();
    const css = await (await fetch(`${app.baseUrl}/app.css`)).text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(css).not.toMatch(/url\((['"])?(https?:)?\/\//);
    expect(js).not.toMatch(/import\s*\(?\s*['"]https?:/);
  });
});

/** Server-sent events of a response body, one at a time. */
function readEvents(body: ReadableStream<Uint8Array>): {
  next(): Promise<{ name: string; data: unknown }>;
} {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) continue;
          const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
          return { name, data: JSON.parse(data) as unknown };
        }
        const { value, done } = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('no event within 20 s')), 20_000),
          ),
        ]);
        if (done) throw new Error('the stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}
