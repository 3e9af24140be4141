/**
 * The dashboard's service worker: shows the alarm notifications the server sends by
 * Web Push (docs/notifications.md gives the payload), even when no page is open, and
 * opens the alarm's page when one is clicked. It keeps no data and no token.
 */
// A module, so that this `self` (the worker's own type) shadows the global one.
export type {};
declare const self: ServiceWorkerGlobalScope;

interface PushPayload {
  title?: string;
  body?: string;
  event?: string;
  severity?: string;
  tag?: string;
  url?: string;
  alarm_id?: string;
  at?: string;
}

self.addEventListener('install', () => {
  void self.skipWaiting();
});

self.addEventListener('activate', (e) => {
  e.waitUntil(self.clients.claim());
});

self.addEventListener('push', (e) => {
  e.waitUntil(show(payloadOf(e.data)));
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const url = (e.notification.data as { url?: string } | null)?.url ?? '/';
  e.waitUntil(focusOrOpen(url));
});

function payloadOf(data: PushMessageData | null): PushPayload {
  if (!data) return {};
  try {
    return data.json() as PushPayload;
  } catch {
    return { body: data.text() };
  }
}

async function show(p: PushPayload): Promise<void> {
  const critical = p.severity === 'critical';
  await self.registration.showNotification(p.title ?? 'Heru alarm', {
    body: p.body ?? '',
    tag: p.tag ?? (p.alarm_id ? `alarm-${p.alarm_id}` : undefined),
    icon: '/icon.svg',
    badge: '/icon.svg',
    requireInteraction: critical,
    data: { url: localUrl(p), at: p.at, event: p.event, alarm_id: p.alarm_id },
  });
}

/** The page to open: the alarm on this dashboard, whatever host the message names. */
function localUrl(p: PushPayload): string {
  if (p.alarm_id) return `/alarms/${encodeURIComponent(p.alarm_id)}`;
  if (p.url) {
    try {
      const u = new URL(p.url);
      if (u.origin === self.location.origin) return u.pathname;
    } catch {
      // Not a URL: open the fleet.
    }
  }
  return '/';
}

async function focusOrOpen(url: string): Promise<void> {
  const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = open[0];
  if (page) {
    await page.focus();
    await page.navigate(url);
    return;
  }
  await self.clients.openWindow(url);
}
