import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api.js';

export function SignIn({
  onSignedIn,
}: {
  onSignedIn: (s: Session, remember: boolean) => void;
}) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await signIn(token.trim()), remember);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>Heru cold chain</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          placeholder="heru_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <label class="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember(e.currentTarget.checked)}
          />
          Stay signed in on this device
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
      <p class="hint">
        An administrator makes a token with <code>node bin/heru.js token create</code>.
        Viewers see the fleet; operators also acknowledge alarms and set up notifications.
      </p>
    </main>
  );
}
