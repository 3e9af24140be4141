import { readCrl } from './crl.js';
import type { CertificateKind, PkiStore } from './store.js';

/** Something that stops working at `expires`: a certificate, or the CRL itself. */
export interface Expiring {
  kind: CertificateKind | 'crl';
  name: string;
  serial: string | null;
  expires: string;
  /** Whole days left, negative once past. */
  daysLeft: number;
}

const DAY_MS = 86_400_000;

/**
 * Valid (not revoked) certificates that end within `days` days of `now`, and the CRL
 * when its next update falls within them, soonest first. Expired ones are listed too:
 * a device with an expired certificate can no longer connect.
 */
export async function listExpiring(
  store: PkiStore,
  days: number,
  now = new Date(),
): Promise<Expiring[]> {
  const limit = now.getTime() + days * DAY_MS;
  const out: Expiring[] = (await store.readIndex())
    .filter((e) => !e.revokedAt && Date.parse(e.notAfter) <= limit)
    .map((e) => ({
      kind: e.kind,
      name: e.name,
      serial: e.serial,
      expires: e.notAfter,
      daysLeft: Math.floor((Date.parse(e.notAfter) - now.getTime()) / DAY_MS),
    }));
  const crl = await readCrl(store);
  const next = crl?.nextUpdate;
  if (next && next.getTime() <= limit) {
    out.push({
      kind: 'crl',
      name: 'crl.pem',
      serial: null,
      expires: next.toISOString(),
      daysLeft: Math.floor((next.getTime() - now.getTime()) / DAY_MS),
    });
  }
  return out.sort((a, b) => a.expires.localeCompare(b.expires));
}
