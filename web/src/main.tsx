import { render } from 'preact';
import { App } from './app.js';

render(<App />, document.getElementById('app')!);

if ('serviceWorker' in navigator) {
  // The worker shows alarm notifications even when no page is open (web/sw/sw.ts).
  navigator.serviceWorker.register('/sw.js').catch(() => undefined);
}
