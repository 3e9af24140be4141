import { useEffect, useState } from 'preact/hooks';
import { signIn, whenUnauthorized, type Session } from './api.js';
import { useLive, type Live } from './live.js';
import { follow, useRoute, type Route } from './router.js';
import { forgetToken, storedToken, storeToken } from './session.js';
import { AlarmPage, AlarmsPage } from './views/Alarms.js';
import { DevicePage } from './views/Device.js';
import { FleetPage } from './views/Fleet.js';
import { ProofPage } from './views/Proof.js';
import { PushPage } from './views/Push.js';
import { SignIn } from './views/SignIn.js';

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => storedToken() !== null);

  useEffect(() => {
    const token = storedToken();
    if (token === null) return;
    signIn(token)
      .then(setSession)
      .catch(() => forgetToken())
      .finally(() => setChecking(false));
  }, []);

  const signOut = (): void => {
    forgetToken();
    setSession(null);
  };
  whenUnauthorized(signOut);

  if (checking) return <p class="loading">Signing in…</p>;
  if (!session) {
    return (
      <SignIn
        onSignedIn={(s, remember) => {
          storeToken(s.token, remember);
          setSession(s);
        }}
      />
    );
  }
  return <Signed session={session} onSignOut={signOut} />;
}

function Signed({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const live = useLive(session.token, onSignOut);
  const route = useRoute();
  const open = live.fleet?.devices.filter((t) => t.unacknowledged > 0).length ?? 0;
  return (
    <>
      <header class="top">
        <a href="/" onClick={follow} class="brand">
          Heru cold chain
        </a>
        <nav>
          <a href="/" onClick={follow} aria-current={route.page === 'fleet'}>
            Fleet
          </a>
          <a href="/alarms" onClick={follow} aria-current={route.page === 'alarms'}>
            Alarms{open > 0 ? <span class="count">{open}</span> : null}
          </a>
          <a href="/push" onClick={follow} aria-current={route.page === 'push'}>
            Notifications
          </a>
        </nav>
        <span class={`live ${live.state}`} title="Updates from the server">
          {live.state === 'live' ? '● Live' : '○ Reconnecting…'}
        </span>
        <span class="who">
          {session.name} · {session.role}
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        <Page route={route} session={session} live={live} />
      </main>
    </>
  );
}

function Page({ route, session, live }: { route: Route; session: Session; live: Live }) {
  switch (route.page) {
    case 'fleet':
      return <FleetPage live={live} />;
    case 'device':
      return <DevicePage id={route.id} session={session} live={live} />;
    case 'alarms':
      return <AlarmsPage session={session} live={live} />;
    case 'alarm':
      return <AlarmPage id={route.id} session={session} live={live} />;
    case 'proof':
      return <ProofPage id={route.id} session={session} />;
    case 'push':
      return <PushPage session={session} />;
    default:
      return (
        <p>
          No such page.{' '}
          <a href="/" onClick={follow}>
            Back to the fleet
          </a>
          .
        </p>
      );
  }
}
