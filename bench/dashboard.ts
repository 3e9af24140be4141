/**
 * How fast the dashboard's pages load with a fleet of devices.
 *
 *   node --import tsx bench/dashboard.ts [--devices 500] [--every 300] [--loads 5]
 *
 * Seeds a fresh PostgreSQL database with `--devices` devices and a day of readings
 * every `--every` seconds each (and one device with 30 days every 30 s, 86,400
 * readings, for the chart), then starts the API again on it (as after a restart: no
 * cache is warm) and opens the fleet page in headless Chromium at once. Then
 * `--loads` more times with a fresh fleet snapshot (the server shares one for 5 s),
 * as many with a shared one, and the device page as many times.
 *
 * Every page time is the browser's `performance.now()`: milliseconds from the start
 * of the navigation to the first frame painted after the page was complete (for the
 * fleet: every tile, with its whole 24-hour sparkline; for a device: its chart). The
 * first load after the start also gives the tiles without the sparklines' past, and
 * the time since the server was listening. Prints one table with the load average.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser, noBrowser } from '../test/helpers/browser.js';
import { startTestApp, type TestApp } from '../test/helpers/app.js';
import { seedFleet, type SeededDevice } from '../test/helpers/dashboardSeed.js';
import { ensureWebBuilt } from '../scripts/build-web.js';
import { createBenchDatabase } from './database.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '500' },
    every: { type: 'string', default: '300' },
    loads: { type: 'string', default: '5' },
  },
});
const devices = Number(values.devices);
const everyS = Number(values.every);
const loads = Math.max(1, Math.min(50, Number(values.loads)));
/** Milliseconds a page may take before the run fails. */
const PAGE_TIMEOUT_MS = 60_000;

const missing = noBrowser();
if (missing) {
  console.error(missing);
  process.exit(1);
}

/** Milliseconds from the navigation's start, in the page's own clock. */
interface FleetTimes {
  /** The document's response ended. */
  html: number;
  /** app.js arrived. */
  script: number;
  /** The sign-in check (`GET /api/v1/session`) answered. */
  session: number;
  /** The stream's `fleet` event arrived (the `heru:fleet` mark). */
  fleet: number;
  /** Every tile in the document (maybe with the current half hour only). */
  tiles: number;
  /** The first frame painted with every tile and its whole sparkline. */
  drawn: number;
}

const fmt = (ms: number): string => `${ms.toFixed(0)} ms`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Browser-side code as text: this file is typed for Node, not the DOM. */
function fleetTimes(page: Page, tiles: number): Promise<FleetTimes> {
  return page.evaluate<FleetTimes>(`new Promise((resolve, reject) => {
    let tiles;
    const entry = (part) => {
      const e = performance.getEntriesByType('resource').find((r) => r.name.includes(part));
      return e ? e.responseEnd : NaN;
    };
    const check = () => {
      const list = document.querySelector('.tiles');
      if (!list || list.children.length < ${tiles}) return false;
      tiles ??= performance.now();
      if (list.dataset.spark !== 'complete') return false;
      requestAnimationFrame(() => setTimeout(() => resolve({
        html: performance.getEntriesByType('navigation')[0].responseEnd,
        script: entry('/app.js'),
        session: entry('/api/v1/session'),
        fleet: performance.getEntriesByName('heru:fleet').at(-1)?.startTime ?? NaN,
        tiles,
        drawn: performance.now(),
      })));
      return true;
    };
    if (check()) return;
    const watch = new MutationObserver(() => check() && watch.disconnect());
    watch.observe(document, { subtree: true, childList: true, attributes: true });
    setTimeout(() => reject(new Error('the fleet page took over ${PAGE_TIMEOUT_MS} ms')),
               ${PAGE_TIMEOUT_MS});
  })`);
}

/** The first frame painted with the device's chart and its legend. */
function deviceDrawn(page: Page): Promise<number> {
  return page.evaluate<number>(`new Promise((resolve, reject) => {
    const check = () => {
      if (!document.querySelector('.chart canvas') || !document.querySelector('.legend'))
        return false;
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now())));
      return true;
    };
    if (check()) return;
    const watch = new MutationObserver(() => check() && watch.disconnect());
    watch.observe(document, { subtree: true, childList: true });
    setTimeout(() => reject(new Error('the device page took over ${PAGE_TIMEOUT_MS} ms')),
               ${PAGE_TIMEOUT_MS});
  })`);
}

async function seed(app: TestApp): Promise<number> {
  const fleet: SeededDevice[] = Array.from({ length: devices }, (_, i) => ({
    id: `fridge-${String(i + 1).padStart(4, '0')}`,
    site: `Site ${(i % 40) + 1}`,
    ...(i % 50 === 7 ? { warm: [0.4, 0] as [number, number] } : {}),
    ...(i % 60 === 11 ? { silentMinutes: 90 } : {}),
  }));
  const readings = await seedFleet(app.pool, fleet, { hours: 24, everyS });
  const long = await seedFleet(app.pool, [{ id: 'fridge-long' }], {
    hours: 24 * 30,
    everyS: 30,
  });
  await app.pool.query('analyze');
  return readings + long;
}

async function main(): Promise<void> {
  await ensureWebBuilt();
  const db = await createBenchDatabase('dashboard');
  const env = { HERU_API_BURST: '10000', HERU_API_RATE: '10000' };
  const opts = { databaseUrl: db.url, roles: { ingest: false, api: true } };
  let app = await startTestApp({ ...opts, env });
  const browser = await launchBrowser({ width: 1280, height: 900 });
  const rows: Array<[string, string]> = [];
  try {
    let t = performance.now();
    const readings = await seed(app);
    rows.push(
      ['devices', String(devices + 1)],
      ['readings seeded', `${readings} (${everyS} s apart; one device 30 days at 30 s)`],
      ['seeding', `${((performance.now() - t) / 1000).toFixed(1)} s`],
    );

    const page = await browser.context.newPage();
    const base = app.baseUrl;
    await page.goto(`${base}/push`);
    await page.evaluate(
      `localStorage.setItem('heru.token', ${JSON.stringify(app.token)})`,
    );
    // A restart on the same port (the page's origin, with its stored token).
    await app.close();
    app = await startTestApp({
      ...opts,
      env: { ...env, HTTP_PORT: base.split(':')[2]! },
    });
    const ready = performance.now();
    const tiles = devices + 1;
    const fleetOnce = async (): Promise<FleetTimes> => {
      await page.goto(`${base}/`, { waitUntil: 'commit' });
      return fleetTimes(page, tiles);
    };
    rows.push(['load average before (1, 5, 15 min)', load()]);

    const first = await fleetOnce();
    const sinceReady = performance.now() - ready;
    rows.push(
      ['fleet page, first load after start', fmt(first.drawn)],
      ['  tiles before the sparklines past', fmt(first.tiles)],
      ['  server listening → page complete', fmt(sinceReady)],
    );

    const fresh: FleetTimes[] = [];
    const shared: number[] = [];
    for (let i = 0; i < loads; i += 1) {
      await pause(5200);
      fresh.push(await fleetOnce());
      shared.push((await fleetOnce()).drawn);
    }
    const drawn = fresh.map((f) => f.drawn);
    const mid = fresh.find((f) => f.drawn === median(drawn))!;
    rows.push(
      [
        `fleet page, fresh snapshot, median of ${loads}`,
        `${fmt(median(drawn))} (max ${fmt(Math.max(...drawn))})`,
      ],
      [
        '  that load: html, app.js, session, fleet event, tiles',
        [mid.html, mid.script, mid.session, mid.fleet, mid.tiles].map(fmt).join(', '),
      ],
      [
        `fleet page, shared snapshot, median of ${loads}`,
        `${fmt(median(shared))} (max ${fmt(Math.max(...shared))})`,
      ],
    );

    const device: number[] = [];
    for (let i = 0; i < loads; i += 1) {
      await page.goto(`${base}/devices/fridge-0002`, { waitUntil: 'commit' });
      device.push(await deviceDrawn(page));
    }
    rows.push([
      `device page (24 h chart), median of ${loads}`,
      `${fmt(median(device))} (max ${fmt(Math.max(...device))})`,
    ]);
    await page.close();

    const api: number[] = [];
    for (let i = 0; i < loads; i += 1) {
      await pause(5200);
      t = performance.now();
      await (await app.api('/api/v1/fleet')).arrayBuffer();
      api.push(performance.now() - t);
    }
    const series: number[] = [];
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    for (let i = 0; i < loads; i += 1) {
      t = performance.now();
      const res = await app.api(
        `/api/v1/devices/fridge-long/series?from=${from.toISOString()}&to=${to.toISOString()}&points=1280`,
      );
      await res.arrayBuffer();
      series.push(performance.now() - t);
    }
    rows.push(
      [`GET /api/v1/fleet, fresh, median of ${loads}`, fmt(median(api))],
      ['30-day series of 86401 readings, median of ' + loads, fmt(median(series))],
      ['load average after (1, 5, 15 min)', load()],
    );
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    await browser.close();
    await app.close();
    await db.drop();
  }
}

await main();
