/** How values read on the page: one decimal for °C, local times, "3 min ago". */
import type { DeviceStatus } from './types.js';

export function celsius(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${v.toFixed(1)} °C`;
}

export function percent(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${Math.round(v)} %`;
}

export function dateTime(iso: string | null): string {
  if (iso === null) return '—';
  return new Date(iso).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} days ago`;
}

/** The words and the icon for a status; the colour comes from its CSS class. */
export const STATUS_TEXT: Record<DeviceStatus, { label: string; icon: string }> = {
  excursion: { label: 'Excursion', icon: '▲' },
  out_of_range: { label: 'Out of range now', icon: '▲' },
  offline: { label: 'Offline', icon: '○' },
  sensor_fault: { label: 'Sensor fault', icon: '✕' },
  battery_low: { label: 'Battery low', icon: '▮' },
  no_data: { label: 'No data yet', icon: '…' },
  in_range: { label: 'In range', icon: '✓' },
};

export const KIND_TEXT: Record<string, string> = {
  excursion_high: 'Too warm',
  excursion_low: 'Too cold',
  excursion_immediate: 'Out of range',
  cumulative_excursion: 'Out of range too long today',
  historical_excursion: 'Past excursion (late data)',
  sensor_fault: 'Sensor fault',
  device_offline: 'Offline',
  low_battery: 'Battery low',
  operator: 'Monitoring problem',
};
