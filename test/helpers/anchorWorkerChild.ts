/**
 * An anchor worker as a child process, for the crash tests. With CRASH_AFTER=pin it
 * kills itself with SIGKILL right after the local store has pinned a manifest (before
 * the worker records it); with CRASH_AFTER=submit, right after the local ledger has
 * appended the message (before the worker records the receipt). The backends really
 * do their work; only the process dies, as it would on a power cut.
 *
 * Environment: DATABASE_URL, REDIS_URL, ANCHOR_QUEUE, HERU_DATA_DIR, CRASH_AFTER.
 */
import type {
  IpfsBackend,
  LedgerBackend,
  LedgerReceipt,
  LedgerSubmission,
} from '../../src/anchor/backends.js';
import { anchorConfig, startTestWorker } from './anchorWorker.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};

function crashingIpfs(inner: IpfsBackend): IpfsBackend {
  return {
    name: inner.name,
    async pin(bytes, name) {
      await inner.pin(bytes, name);
      return die();
    },
    isPinned: (cid) => inner.isPinned(cid),
    fetch: (cid) => inner.fetch(cid),
    health: () => inner.health(),
  };
}

function crashingLedger(inner: LedgerBackend): LedgerBackend {
  return {
    name: inner.name,
    topicId: inner.topicId,
    prepare: (m) => inner.prepare(m),
    async submit(s: LedgerSubmission): Promise<LedgerReceipt> {
      await inner.submit(s);
      return die();
    },
    lookup: (id) => inner.lookup(id),
    readMessage: (t, n) => inner.readMessage(t, n),
    health: () => inner.health(),
  };
}

const crash = process.env.CRASH_AFTER ?? '';
const config = anchorConfig({
  queue: env('ANCHOR_QUEUE'),
  dataDir: env('HERU_DATA_DIR'),
  redisUrl: env('REDIS_URL'),
});
const w = startTestWorker(new URL(env('DATABASE_URL')), config, (b) => ({
  ipfs: crash === 'pin' ? crashingIpfs(b.ipfs) : b.ipfs,
  ledger: crash === 'submit' ? crashingLedger(b.ledger) : b.ledger,
}));
process.on('SIGTERM', () => {
  w.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
