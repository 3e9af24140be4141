import { ConfigError } from '../../config/ConfigError.js';
import { loadEnv, oneOf } from '../../config/env.js';
import { readHederaConfig } from '../../anchor/hederaConfig.js';
import { createTopic } from '../../anchor/hederaTopic.js';
import { createLogger } from '../../log.js';

const USAGE = `heru hedera <subcommand>

Subcommands:
  create-topic [--force]   create the HCS topic anchors go to and print its id;
                           needs HEDERA_NETWORK, HEDERA_ACCOUNT_ID, HEDERA_PRIVATE_KEY.
                           Refuses when HEDERA_TOPIC_ID is already set, unless --force.`;

/** `heru hedera …`: provisioning on the Hedera network. */
export async function runHedera(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create-topic') {
    console.log(USAGE);
    if (sub !== undefined && sub !== '--help' && sub !== '-h') process.exitCode = 2;
    return;
  }
  const env = loadEnv();
  const config = readHederaConfig(env);
  if (!config) {
    throw new ConfigError(
      'HEDERA_ACCOUNT_ID',
      'an account id (with HEDERA_NETWORK and HEDERA_PRIVATE_KEY) to pay for the topic',
    );
  }
  if (config.topicId && !rest.includes('--force')) {
    console.log(
      `HEDERA_TOPIC_ID is already set to ${config.topicId}; nothing created ` +
        '(pass --force to create another topic).',
    );
    return;
  }
  const log = createLogger(
    oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'silent'],
      'warn',
    ),
  );
  const topicId = await createTopic(config, log);
  console.log(
    `Created topic ${topicId}. Add this line to .env:\nHEDERA_TOPIC_ID=${topicId}`,
  );
}
