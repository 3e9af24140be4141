/**
 * The device chart (uPlot): mean temperature as a line with the bucket's minimum to
 * maximum as a shaded band, humidity on the right axis, the profile's range as a
 * green band, excursions shaded red, gaps hatched grey (the line breaks there), and
 * each alarm marked where it began. Dragging across the chart zooms in: the page
 * asks the server for that range again, at a finer resolution.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Series } from '../types.js';

const EXCURSIONS = new Set([
  'excursion_high',
  'excursion_low',
  'excursion_immediate',
  'cumulative_excursion',
  'historical_excursion',
]);

export interface ChartProps {
  series: Series;
  onZoom: (fromMs: number, toMs: number) => void;
  /** Called with a reading id when a point is clicked at reading resolution. */
  onPick: (readingId: string) => void;
}

export function Chart({ series, onZoom, onPick }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const handlers = useRef({ onZoom, onPick });
  handlers.current = { onZoom, onPick };

  useEffect(() => {
    const el = box.current!;
    const { data, ids } = columns(series);
    const plot = new uPlot(options(series, el.clientWidth, handlers), data, el);
    plot.over.addEventListener('click', () => {
      const i = plot.cursor.idx;
      const id = i === null || i === undefined ? null : ids[i];
      if (id) handlers.current.onPick(id);
    });
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: el.clientWidth, height: chartHeight() }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series]);

  return <div class="chart" ref={box} />;
}

function chartHeight(): number {
  return innerWidth < 600 ? 240 : 340;
}

/** uPlot's columns (seconds), with a null after each gap's start so the line breaks. */
function columns(s: Series): { data: uPlot.AlignedData; ids: Array<string | null> } {
  const t: number[] = [];
  const cols: Array<Array<number | null>> = [[], [], [], []];
  const ids: Array<string | null> = [];
  const breaks = s.gaps.map((g) => Date.parse(g.from)).sort((a, b) => a - b);
  let b = 0;
  s.t.forEach((ms, i) => {
    while (b < breaks.length && breaks[b]! < ms) {
      t.push(breaks[b]! / 1000);
      cols.forEach((c) => c.push(null));
      ids.push(null);
      b += 1;
    }
    t.push(ms / 1000);
    cols[0]!.push(s.temperature[i] ?? null);
    cols[1]!.push(s.min[i] ?? null);
    cols[2]!.push(s.max[i] ?? null);
    cols[3]!.push(s.humidity[i] ?? null);
    ids.push(s.ids?.[i] ?? null);
  });
  return { data: [t, ...cols] as uPlot.AlignedData, ids };
}

function options(
  s: Series,
  width: number,
  handlers: { current: Pick<ChartProps, 'onZoom'> },
): uPlot.Options {
  const from = Date.parse(s.from) / 1000;
  const to = Math.min(Date.parse(s.to), Date.now()) / 1000;
  return {
    width,
    height: chartHeight(),
    scales: {
      x: { time: true, min: from, max: to },
      temp: {
        range: (_u, lo, hi) => [
          Math.min(lo ?? s.range.low, s.range.low - 1),
          Math.max(hi ?? s.range.high, s.range.high + 1),
        ],
      },
      hum: { range: [0, 100] },
    },
    series: [
      {},
      {
        label: 'Temperature',
        scale: 'temp',
        stroke: '#1d4ed8',
        width: 2,
        value: (_u, v) => (v == null ? '—' : `${v.toFixed(2)} °C`),
      },
      { label: 'Min', scale: 'temp', stroke: 'rgba(29,78,216,0.25)', width: 1 },
      { label: 'Max', scale: 'temp', stroke: 'rgba(29,78,216,0.25)', width: 1 },
      {
        label: 'Humidity',
        scale: 'hum',
        stroke: '#0f766e',
        width: 1,
        dash: [4, 4],
        value: (_u, v) => (v == null ? '—' : `${v.toFixed(0)} %`),
      },
    ],
    bands: [{ series: [3, 2], fill: 'rgba(29,78,216,0.10)' }],
    axes: [
      {},
      { scale: 'temp', label: '°C', values: (_u, v) => v.map((x) => x.toFixed(1)) },
      { scale: 'hum', side: 1, label: '% RH', grid: { show: false } },
    ],
    cursor: { drag: { x: true, y: false } },
    hooks: {
      drawAxes: [(u) => drawBackground(u, s)],
      draw: [(u) => drawAlarmMarks(u, s)],
      setSelect: [
        (u) => {
          if (u.select.width < 5) return;
          const a = u.posToVal(u.select.left, 'x');
          const b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          handlers.current.onZoom(a * 1000, b * 1000);
        },
      ],
    },
  };
}

/** Under the lines: the range band, excursions and gaps. */
function drawBackground(u: uPlot, s: Series): void {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const x = (ms: number): number =>
    Math.min(left + width, Math.max(left, u.valToPos(ms / 1000, 'x', true)));
  ctx.save();
  const yHigh = u.valToPos(s.range.high, 'temp', true);
  const yLow = u.valToPos(s.range.low, 'temp', true);
  ctx.fillStyle = 'rgba(22,163,74,0.10)';
  ctx.fillRect(left, yHigh, width, yLow - yHigh);
  ctx.strokeStyle = 'rgba(22,163,74,0.6)';
  ctx.setLineDash([6, 4]);
  for (const y of [yHigh, yLow]) {
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.fillStyle = 'rgba(220,38,38,0.16)';
  for (const a of s.alarms) {
    if (!EXCURSIONS.has(a.kind)) continue;
    const x0 = x(Date.parse(a.since));
    const x1 = x(a.until ? Date.parse(a.until) : Date.now());
    ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
  }
  ctx.fillStyle = hatch(ctx);
  for (const g of s.gaps) {
    const x0 = x(Date.parse(g.from));
    const x1 = x(Date.parse(g.to));
    ctx.fillRect(x0, top, x1 - x0, height);
  }
  ctx.restore();
}

function hatch(ctx: CanvasRenderingContext2D): CanvasPattern | string {
  const c = document.createElement('canvas');
  c.width = c.height = 8;
  const p = c.getContext('2d');
  if (!p) return 'rgba(100,116,139,0.15)';
  p.strokeStyle = 'rgba(100,116,139,0.45)';
  p.beginPath();
  p.moveTo(0, 8);
  p.lineTo(8, 0);
  p.stroke();
  return ctx.createPattern(c, 'repeat') ?? 'rgba(100,116,139,0.15)';
}

/** Over the lines: a marker where each alarm began. */
function drawAlarmMarks(u: uPlot, s: Series): void {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  for (const a of s.alarms) {
    const xv = u.valToPos(Date.parse(a.since) / 1000, 'x', true);
    if (xv < left || xv > left + width) continue;
    ctx.strokeStyle = a.severity === 'critical' ? '#b91c1c' : '#b45309';
    ctx.fillStyle = ctx.strokeStyle;
    ctx.beginPath();
    ctx.moveTo(xv, top);
    ctx.lineTo(xv, top + height);
    ctx.stroke();
    ctx.beginPath();
    const r = 5 * devicePixelRatio;
    ctx.moveTo(xv - r, top);
    ctx.lineTo(xv + r, top);
    ctx.lineTo(xv, top + r * 1.6);
    ctx.fill();
    ctx.fillText(`#${a.id}`, xv + r + 2, top + r * 1.6);
  }
  ctx.restore();
}
