import { useEffect, useState } from 'preact/hooks';
import { allows, ApiError, getJson, postJson, type Session } from '../api.js';
import { dateTime, KIND_TEXT } from '../format.js';
import type { Live } from '../live.js';
import { devicePath, follow } from '../router.js';
import type { Alarm, AlarmAction } from '../types.js';

type Tab = 'active' | 'unacknowledged' | 'history';

const TABS: Array<[Tab, string]> = [
  ['active', 'Open'],
  ['unacknowledged', 'To acknowledge'],
  ['history', 'History'],
];

/** Open and recent alarms; acknowledging one asks for a comment. */
export function AlarmsPage({ session, live }: { session: Session; live: Live }) {
  const [tab, setTab] = useState<Tab>('active');
  const [alarms, setAlarms] = useState<Alarm[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = (before?: string): void => {
    const q = new URLSearchParams({ limit: '50' });
    if (tab !== 'history') q.set('state', tab);
    if (before) q.set('before', before);
    getJson<{ alarms: Alarm[]; next: string | null }>(
      session.token,
      `/api/v1/alarms?${q}`,
    )
      .then((r) => {
        setAlarms((old) => (before ? [...(old ?? []), ...r.alarms] : r.alarms));
        setNext(r.next);
        setError(null);
      })
      .catch((err: Error) => setError(err.message));
  };
  useEffect(() => load(), [tab, live.alarmVersion, session.token]);

  return (
    <section>
      <div class="bar">
        <h1>Alarms</h1>
        <div class="controls" role="tablist">
          {TABS.map(([t, label]) => (
            <button
              type="button"
              role="tab"
              aria-selected={tab === t}
              onClick={() => setTab(t)}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      {error ? <p class="error">{error}</p> : null}
      {alarms === null ? <p class="loading">Loading alarms…</p> : null}
      {alarms?.length === 0 ? <p class="empty">No alarms here.</p> : null}
      <ul class="alarms">
        {alarms?.map((a) => (
          <AlarmCard key={a.id} alarm={a} session={session} onChanged={() => load()} />
        ))}
      </ul>
      {next ? (
        <button type="button" onClick={() => load(next)}>
          Older alarms
        </button>
      ) : null}
    </section>
  );
}

/** One alarm with its audit trail (`/alarms/{id}`, where notifications link to). */
export function AlarmPage({
  id,
  session,
  live,
}: {
  id: string;
  session: Session;
  live: Live;
}) {
  const [alarm, setAlarm] = useState<(Alarm & { actions: AlarmAction[] }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = (): void => {
    getJson<Alarm & { actions: AlarmAction[] }>(
      session.token,
      `/api/v1/alarms/${encodeURIComponent(id)}`,
    )
      .then(setAlarm)
      .catch((err: Error) => setError(err.message));
  };
  useEffect(load, [id, live.alarmVersion, session.token]);
  return (
    <section>
      <p class="crumbs">
        <a href="/alarms" onClick={follow}>
          Alarms
        </a>{' '}
        › #{id}
      </p>
      {error ? <p class="error">{error}</p> : null}
      {alarm ? (
        <>
          <ul class="alarms">
            <AlarmCard alarm={alarm} session={session} onChanged={load} />
          </ul>
          <h2>Audit trail</h2>
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>What</th>
                <th>Who</th>
                <th>Comment</th>
              </tr>
            </thead>
            <tbody>
              {alarm.actions.map((x) => (
                <tr>
                  <td>{dateTime(x.at)}</td>
                  <td>{x.action}</td>
                  <td>{x.by}</td>
                  <td>{x.comment ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

function AlarmCard({
  alarm: a,
  session,
  onChanged,
}: {
  alarm: Alarm;
  session: Session;
  onChanged: () => void;
}) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const canAck = allows(session.role, 'operator');

  const ack = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      await postJson(session.token, `/api/v1/alarms/${a.id}/ack`, {
        comment: comment.trim(),
      });
      onChanged();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li class={`alarm sev-${a.severity} state-${a.state}`} data-alarm={a.id}>
      <div class="alarm-head">
        <span class={`badge sev-${a.severity}`}>
          {a.severity === 'critical' ? '▲' : a.severity === 'warning' ? '!' : 'i'}{' '}
          {a.severity}
        </span>
        <a href={`/alarms/${a.id}`} onClick={follow} class="alarm-title">
          #{a.id} {KIND_TEXT[a.kind] ?? a.kind}
        </a>
        {a.device_id ? (
          <a href={devicePath(a.device_id)} onClick={follow}>
            {a.device_id}
          </a>
        ) : (
          <span>server</span>
        )}
        <span class={`state state-${a.state}`}>{a.state}</span>
      </div>
      <p>{a.summary}</p>
      <p class="times">
        since {dateTime(a.since)}
        {a.until
          ? ` until ${dateTime(a.until)}`
          : a.state !== 'cleared'
            ? ', still going'
            : ''}
        {a.historical ? ' · found in late data' : ''}
      </p>
      {a.acknowledged_by ? (
        <p class="ack">
          ✓ Acknowledged by <strong>{a.acknowledged_by}</strong> at{' '}
          {dateTime(a.acknowledged_at)}
          {a.ack_comment ? `: “${a.ack_comment}”` : ''}
        </p>
      ) : canAck ? (
        <form class="ack-form" onSubmit={(e) => void ack(e)}>
          <input
            type="text"
            aria-label={`Comment for alarm ${a.id}`}
            placeholder="What was done (e.g. door closed, stock checked)"
            value={comment}
            onInput={(e) => setComment(e.currentTarget.value)}
            required
          />
          <button type="submit" disabled={busy || comment.trim() === ''}>
            Acknowledge
          </button>
        </form>
      ) : (
        <p class="hint">Not acknowledged yet (acknowledging needs the operator role).</p>
      )}
      {error ? <p class="error">{error}</p> : null}
    </li>
  );
}
