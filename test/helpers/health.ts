import { waitFor } from './app.js';
import type { HealthAnswer, ServerProcess } from './serverProcess.js';

/** Polls the server's `/health` until it answers `status`; fails after `ms`. */
export async function waitForHealth(
  server: ServerProcess,
  status: number,
  ms = 10_000,
): Promise<HealthAnswer> {
  return waitFor(
    async () => {
      const h = await server.health().catch(() => undefined);
      return h?.status === status ? h : undefined;
    },
    ms,
    `/health ${status}`,
  );
}
