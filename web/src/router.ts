/**
 * Paths of the dashboard, with the browser's history: `/`, `/devices/{id}`,
 * `/alarms`, `/alarms/{id}`, `/proofs/{readingId}`, `/push`. The server answers each
 * with the same page; links from notifications open them directly.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'fleet' }
  | { page: 'device'; id: string }
  | { page: 'alarms' }
  | { page: 'alarm'; id: string }
  | { page: 'proof'; id: string }
  | { page: 'push' }
  | { page: 'unknown' };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [head, id] = parts;
  if (parts.length === 0) return { page: 'fleet' };
  if (head === 'devices' && id) return { page: 'device', id };
  if (head === 'alarms') return id ? { page: 'alarm', id } : { page: 'alarms' };
  if (head === 'proofs' && id) return { page: 'proof', id };
  if (head === 'push') return { page: 'push' };
  return { page: 'unknown' };
}

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
  scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.pathname));
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return route;
}

/** Click handler for an in-app link: the history changes, the page does not reload. */
export function follow(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}

export const devicePath = (id: string): string => `/devices/${encodeURIComponent(id)}`;
