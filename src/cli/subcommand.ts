/**
 * What the `heru <group> <command> …` commands share: reading the command line
 * against a table of commands, and a migrated database pool for one command's run.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readConfig } from '../config/config.js';
import { loadEnv } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';
import { databaseUrlOf } from '../embedded/databaseUrl.js';
import { createLogger } from '../log.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed options of a command group whose option table is `O`. */
export type ValuesOf<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true }>
>['values'];

export interface Picked<O extends Options> {
  /** The command's name, one of the table's keys. */
  name: string;
  /** The positionals after the command's name. */
  rest: string[];
  values: ValuesOf<O>;
}

/**
 * Reads `args` against `options` and picks the command from `commands`. With --help,
 * no command or an unknown one, prints `usage`, sets the exit code (0 for --help,
 * 2 otherwise) and returns undefined.
 */
export function pickCommand<O extends Options>(
  args: string[],
  options: O,
  commands: Readonly<Record<string, unknown>>,
  usage: string,
): Picked<O> | undefined {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  const [name, ...rest] = positionals;
  const help = (values as { help?: unknown }).help === true;
  if (help || name === undefined || !Object.hasOwn(commands, name)) {
    console.log(usage);
    process.exitCode = help ? 0 : 2;
    return undefined;
  }
  return { name, rest, values };
}

/**
 * Runs `work` with a small pool on the configured database (the embedded one of this
 * folder when DATABASE_URL is unset), migrated first; the pool is closed after.
 */
export async function withDatabase<T>(
  work: (pool: Pool) => Promise<T>,
  poolSize = 2,
): Promise<T> {
  const config = readConfig(loadEnv());
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const pool = createPool(databaseUrlOf(config), log, { max: poolSize });
  try {
    await migrate(pool, log);
    return await work(pool);
  } finally {
    await pool.end();
  }
}
