/**
 * Server-sent events read with fetch, so that the token travels in the Authorization
 * header (EventSource cannot send one). Reconnects after a break, waiting longer each
 * time up to 15 seconds; every (re)connection starts with the whole fleet.
 */

export interface StreamHandlers {
  onEvent(name: string, data: unknown): void;
  onState(state: 'live' | 'connecting' | 'signed_out'): void;
}

export function openStream(token: string, h: StreamHandlers): () => void {
  const abort = new AbortController();
  let wait = 500;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      h.onState('connecting');
      try {
        const res = await fetch('/api/v1/stream', {
          headers: { authorization: `Bearer ${token}` },
          signal: abort.signal,
        });
        if (res.status === 401) {
          h.onState('signed_out');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        h.onState('live');
        wait = 500;
        if ((await readEvents(res.body, h)) === 'signed_out') {
          h.onState('signed_out');
          return;
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 15_000);
    }
  };
  void run();
  return () => abort.abort();
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  h: StreamHandlers,
): Promise<'ended' | 'signed_out'> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return 'ended';
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) continue;
      if (name === 'signed_out') return 'signed_out';
      h.onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
