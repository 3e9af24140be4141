import { ConfigError } from '../config/ConfigError.js';
import { runApi, runIngest, runMigrate, runServe } from './commands/run.js';
import { runSimulate } from './commands/simulate.js';

const USAGE = `heru <command> [options]

Commands:
  serve      every role in one process: ingest, API (npm start)
  ingest     MQTT ingest only (answers /health, /ready, /metrics)
  api        the HTTP API only
  migrate    apply the database migrations and exit
  simulate   publish simulated devices, or replay a logger file (--help for options)

Settings come from the environment and .env; see .env.example.`;

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  serve: runServe,
  ingest: runIngest,
  api: runApi,
  migrate: runMigrate,
  simulate: runSimulate,
};

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`heru: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  await command(args);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`heru: configuration error: ${err.message}`);
    process.exit(78);
  }
  console.error(`heru: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
