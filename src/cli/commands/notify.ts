import { Registry } from 'prom-client';
import { readConfig } from '../../config/config.js';
import { loadEnv } from '../../config/env.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { createLogger } from '../../log.js';
import { listDeliveries } from '../../notify/deliveryLog.js';
import { NotificationHub } from '../../notify/hub.js';
import { getRecipient } from '../../notify/recipients.js';
import { databaseUrlOf } from '../../embedded/databaseUrl.js';

const USAGE = `heru notify test <recipient-id> [--wait <seconds>]

Queues a test notice to every channel of the recipient, sends it from this process,
and prints what each channel answered. Waits at most --wait seconds (default 60).`;

/** `heru notify test <id>`: an operator's check that a recipient's channels work. */
export async function runNotify(args: string[]): Promise<void> {
  const [sub, id, flag, value] = args;
  const waitS = flag === '--wait' ? Number(value) : 60;
  if (sub !== 'test' || id === undefined || !/^\d{1,18}$/.test(id) || !(waitS > 0)) {
    console.log(USAGE);
    process.exitCode = sub === '--help' || sub === '-h' ? 0 : 2;
    return;
  }
  const config = readConfig(loadEnv());
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const pool = createPool(databaseUrlOf(config), log, { max: 4 });
  const hub = new NotificationHub({
    pool,
    config: { ...config.notify, worker: true, pollMs: 200 },
    log,
    registry: new Registry(),
  });
  try {
    await migrate(pool, log);
    const recipient = await getRecipient(pool, id);
    if (!recipient) throw new Error(`No recipient ${id}; see GET /api/v1/recipients.`);
    const before = await listDeliveries(pool, { recipientId: id, limit: 1 });
    const sinceId = Number(before[0]?.id ?? 0);
    hub.start();
    await hub.sendTest(recipient);
    const deadline = Date.now() + waitS * 1000;
    for (;;) {
      const mine = (await listDeliveries(pool, { recipientId: id, limit: 100 })).filter(
        (d) => Number(d.id) > sinceId && d.event === 'test',
      );
      const open = mine.filter((d) => d.status === 'pending' || d.status === 'sending');
      if (open.length === 0 || Date.now() > deadline) {
        for (const d of mine.reverse()) {
          const why = d.last_error ? `  ${d.last_error}` : '';
          console.log(
            `${d.kind.padEnd(8)} ${d.status.padEnd(9)} attempts=${d.attempts}${why}`,
          );
        }
        if (mine.some((d) => d.status !== 'sent')) process.exitCode = 1;
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await hub.close();
    await pool.end();
  }
}
