import { useEffect, useState } from 'preact/hooks';
import { allows, ApiError, getJson, postJson, type Session } from '../api.js';

interface Recipient {
  id: string;
  name: string;
  channels: Array<{ id: string; kind: string }>;
}

const RECIPIENT_KEY = 'heru.pushRecipient';

/**
 * Alarm notifications on this device: the service worker (web/sw/sw.ts) receives
 * Web Push messages and shows them even with no page open. Turning them on subscribes
 * with the server's VAPID key and adds the subscription as a `push` channel of a
 * recipient; the test button asks the server to send a notice through it.
 */
export function PushPage({ session }: { session: Session }) {
  const [permission, setPermission] = useState(
    'Notification' in window ? Notification.permission : 'unsupported',
  );
  const [endpoint, setEndpoint] = useState<string | null>(null);
  const [recipients, setRecipients] = useState<Recipient[] | null>(null);
  const [chosen, setChosen] = useState(localStorage.getItem(RECIPIENT_KEY) ?? '');
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const operator = allows(session.role, 'operator');

  useEffect(() => {
    void navigator.serviceWorker?.ready
      .then((r) => r.pushManager.getSubscription())
      .then((s) => setEndpoint(s ? new URL(s.endpoint).origin : null));
    if (operator) {
      getJson<{ recipients: Recipient[] }>(session.token, '/api/v1/recipients')
        .then((r) => setRecipients(r.recipients))
        .catch((err: Error) => setError(err.message));
    }
  }, [session.token, operator]);

  const run = (what: () => Promise<string>) => async (): Promise<void> => {
    setError(null);
    setNote(null);
    try {
      setNote(await what());
    } catch (err) {
      setError(err instanceof ApiError ? err.message : (err as Error).message);
    }
  };

  const turnOn = run(async () => {
    const perm = await Notification.requestPermission();
    setPermission(perm);
    if (perm !== 'granted') throw new Error('Notifications are blocked for this site.');
    const { public_key } = await getJson<{ public_key: string }>(
      session.token,
      '/api/v1/push/vapid-public-key',
    );
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromBase64Url(public_key),
    });
    setEndpoint(new URL(sub.endpoint).origin);
    const channel = { kind: 'push', subscription: sub.toJSON() };
    let id = chosen;
    try {
      if (id) {
        await postJson(session.token, `/api/v1/recipients/${id}/channels`, channel);
      } else {
        const r = await postJson<Recipient>(session.token, '/api/v1/recipients', {
          name: `Dashboard of ${session.name}`,
          channels: [channel],
        });
        id = r.id;
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CHANNEL_EXISTS')) throw err;
    }
    localStorage.setItem(RECIPIENT_KEY, id);
    setChosen(id);
    return `This device now receives the alarms of recipient ${id}.`;
  });

  const test = run(async () => {
    const r = await postJson<{ queued: number; coalesced: number }>(
      session.token,
      `/api/v1/recipients/${chosen}/test`,
      {},
    );
    return `Test notice queued to ${r.queued} channel(s) of recipient ${chosen}; it should appear in a few seconds.`;
  });

  const local = run(async () => {
    const reg = await navigator.serviceWorker.ready;
    await reg.showNotification('Heru: this device shows notifications', {
      body: 'Shown by this page, without the push service.',
      tag: 'local-test',
    });
    return 'A notification was shown by this page.';
  });

  return (
    <section class="push">
      <h1>Notifications</h1>
      <dl class="facts">
        <dt>Permission</dt>
        <dd>{permission}</dd>
        <dt>Subscription</dt>
        <dd>{endpoint ? `through ${endpoint}` : 'none on this device'}</dd>
      </dl>
      {operator ? (
        <>
          <label for="recipient">Deliver to recipient</label>
          <select
            id="recipient"
            value={chosen}
            onChange={(e) => setChosen(e.currentTarget.value)}
          >
            <option value="">a new recipient “Dashboard of {session.name}”</option>
            {recipients?.map((r) => (
              <option value={r.id}>
                {r.name} ({r.channels.map((c) => c.kind).join(', ') || 'no channel'})
              </option>
            ))}
          </select>
          <div class="actions">
            <button type="button" class="primary" onClick={() => void turnOn()}>
              Turn on notifications here
            </button>
            <button type="button" onClick={() => void test()} disabled={!chosen}>
              Send a test notification
            </button>
            <button type="button" onClick={() => void local()}>
              Show one without the server
            </button>
          </div>
        </>
      ) : (
        <p class="hint">Setting up notifications needs the operator role.</p>
      )}
      {note ? (
        <p class="note" role="status">
          {note}
        </p>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <p class="hint">
        Install the dashboard (the browser's “Install app” or “Add to Home screen”) so
        that alarms reach this phone with the page closed.
      </p>
    </section>
  );
}

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}
