import { ConfigError } from '../config/ConfigError.js';

const USAGE = `heru <command> [options]

Commands:
  serve      every role in one process: ingest, API, anchor worker (npm start)
  ingest     MQTT ingest only (answers /health, /ready, /metrics)
  api        the HTTP API only
  worker     the anchor worker only: batches, IPFS pins, ledger messages (--help)
  verify     verify <reading-id | proof.json>: check a reading's proof end to end
  migrate    apply the database migrations and exit
  simulate   publish simulated devices, or replay a logger file (--help for options)
  profile    profiles and the profile of each device (list, show, put, get, set, history)
  hedera     hedera create-topic: create the HCS topic anchors go to
  vapid      vapid generate: a key pair for Web Push notifications
  notify     notify test <recipient-id>: send a test notice to a recipient's channels
  mapping    mapping put|list|show|test|device …: map a device format without code (--help)
  pki        pki ca create|server|device|ingest|revoke|crl|expiring|list: certificates
  broker-config  write the Mosquitto configuration for the fleet (--help)
  device     device add|password|list|disable|enable: the device registry
  token      token create|list|revoke: API tokens and their roles

Settings come from the environment and .env; see .env.example.`;

type Command = (args: string[]) => Promise<void>;

/** Each command's module is loaded only when that command runs, so start-up stays quick. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/run.js')).runServe,
  ingest: async () => (await import('./commands/run.js')).runIngest,
  api: async () => (await import('./commands/run.js')).runApi,
  worker: async () => (await import('./commands/worker.js')).runWorker,
  verify: async () => (await import('./commands/verify.js')).runVerify,
  migrate: async () => (await import('./commands/run.js')).runMigrate,
  simulate: async () => (await import('./commands/simulate.js')).runSimulate,
  profile: async () => (await import('./commands/profile.js')).runProfile,
  hedera: async () => (await import('./commands/hedera.js')).runHedera,
  vapid: async () => (await import('./commands/vapid.js')).runVapid,
  notify: async () => (await import('./commands/notify.js')).runNotify,
  mapping: async () => (await import('./commands/mapping.js')).runMapping,
  pki: async () => (await import('./commands/pki.js')).runPki,
  'broker-config': async () =>
    (await import('./commands/brokerConfig.js')).runBrokerConfig,
  device: async () => (await import('./commands/device.js')).runDevice,
  token: async () => (await import('./commands/token.js')).runToken,
};

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`heru: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const command = await load();
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
