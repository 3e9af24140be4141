/** Saves text or an API answer as a file, without putting the token in a URL. */
import { request } from './api.js';

export function saveText(name: string, text: string, type = 'text/csv'): void {
  saveBlob(name, new Blob([text], { type }));
}

export async function saveFromApi(
  token: string,
  path: string,
  name: string,
): Promise<void> {
  const res = await request(token, path);
  saveBlob(name, await res.blob());
}

function saveBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
