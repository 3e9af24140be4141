/**
 * Reads the few figures the benchmark needs from the ingest's /metrics (Prometheus
 * text format): counters and histograms without labels.
 */

export interface Histogram {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound, ascending; the last bound is Infinity. */
  buckets: Array<{ le: number; count: number }>;
}

export type Samples = Map<string, number>;

/** Every sample line as `name{labels}` → value. */
export function parseSamples(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

export function histogram(samples: Samples, name: string): Histogram {
  const buckets: Histogram['buckets'] = [];
  const prefix = `${name}_bucket{le="`;
  for (const [key, value] of samples) {
    if (!key.startsWith(prefix)) continue;
    const le = key.slice(prefix.length, key.indexOf('"', prefix.length));
    buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: value });
  }
  buckets.sort((a, b) => a.le - b.le);
  return {
    count: samples.get(`${name}_count`) ?? 0,
    sum: samples.get(`${name}_sum`) ?? 0,
    buckets,
  };
}

/** The difference of two readings of the same histogram (what happened in between). */
export function since(after: Histogram, before: Histogram): Histogram {
  return {
    count: after.count - before.count,
    sum: after.sum - before.sum,
    buckets: after.buckets.map((b, i) => ({
      le: b.le,
      count: b.count - (before.buckets[i]?.count ?? 0),
    })),
  };
}

/** The upper bound of the bucket holding quantile `q` (0–1): an upper estimate. */
export function quantileBound(h: Histogram, q: number): number {
  const target = h.count * q;
  const hit = h.buckets.find((b) => b.count >= target);
  return hit?.le ?? NaN;
}

export async function fetchSamples(baseUrl: string): Promise<Samples> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
  return parseSamples(await res.text());
}
