/** The state of one dependency as /health reports it. */
export interface HealthEntry {
  status: 'ok' | 'failing' | 'not_configured';
  /** Plain words for the operator; never a secret. */
  detail?: string;
  [extra: string]: unknown;
}

export type HealthCheck = () => Promise<HealthEntry> | HealthEntry;

const CHECK_TIMEOUT_MS = 2_000;

/** The dependencies of this process, each with a check; /health runs them all. */
export class Health {
  private readonly checks = new Map<string, HealthCheck>();

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  async report(): Promise<{ ok: boolean; checks: Record<string, HealthEntry> }> {
    const entries = await Promise.all(
      [...this.checks].map(
        async ([name, check]) => [name, await runCheck(check)] as const,
      ),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, e]) => e.status !== 'failing');
    return { ok, checks };
  }
}

async function runCheck(check: HealthCheck): Promise<HealthEntry> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthEntry>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({ status: 'failing', detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (err) {
    return { status: 'failing', detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
