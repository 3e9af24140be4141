import { generateVapidKeys } from '../../notify/push/vapid.js';

const USAGE = `heru vapid generate [--subject mailto:ops@example.org]

Makes a VAPID key pair for Web Push and prints it as .env lines. Keep the private
key secret; the public key is what the dashboard's PWA subscribes with. Changing
the pair later orphans every existing browser subscription.`;

/** `heru vapid generate`: prints VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT lines. */
export async function runVapid(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'generate') {
    console.log(USAGE);
    if (sub !== '--help' && sub !== '-h') process.exitCode = 2;
    return;
  }
  let subject = 'mailto:ops@example.org';
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    if (arg === '--subject' && rest[i + 1] !== undefined) {
      subject = rest[(i += 1)]!;
    } else {
      console.error(`heru vapid: unknown option ${JSON.stringify(arg)}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
  }
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject)) {
    console.error('heru vapid: --subject must be a mailto: address or an https:// URL');
    process.exitCode = 2;
    return;
  }
  const keys = generateVapidKeys();
  console.log(`VAPID_PUBLIC_KEY=${keys.publicKey}`);
  console.log(`VAPID_PRIVATE_KEY=${keys.privateKey}`);
  console.log(`VAPID_SUBJECT=${subject}`);
  return Promise.resolve();
}
