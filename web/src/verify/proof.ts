/**
 * Checks a reading's proof in the browser, computing every hash here (WebCrypto)
 * rather than trusting the server's word:
 *
 * 1. canonical — the reading object of the proof, canonicalized here (RFC 8785),
 *    gives the text the proof says was hashed;
 * 2. reading   — that object is the reading this page shows (id, device, time, values);
 * 3. leaf      — SHA-256(0x00 || those bytes) is the leaf the batch was sealed with;
 * 4. path      — the Merkle path leads from the leaf to the batch's root.
 *
 * What remains is outside the browser's reach here: that the ledger message at
 * (topic, sequence number) names that root and the manifest's CID. The page links
 * to both; `heru verify` checks them too.
 */
import { canonicalJson, type Json } from './canonical.js';
import { fromHex, leafHashOf, rootOfPath, toHex } from './merkle.js';

/** A proof as `GET /api/v1/readings/{id}/proof` gives it (the fields checked here). */
export interface ProofDoc {
  scheme: string;
  reading_id: string;
  canonical: string;
  reading: { [name: string]: Json };
  leaf: string;
  leaf_index: number;
  path: string[];
  root: string;
  count: number;
  batch_id: string;
  manifest_cid: string | null;
  ledger: string | null;
  topic_id: string | null;
  sequence_number: number | null;
  consensus_time: string | null;
  transaction_id: string | null;
}

/** The reading as `GET /api/v1/readings/{id}` gives it (times to the millisecond). */
export interface ShownReading {
  id: string;
  device_id: string;
  time: string;
  temperature_c: number | null;
  humidity_pct: number | null;
}

export interface Check {
  what: 'canonical' | 'reading' | 'leaf' | 'path';
  holds: boolean;
  detail: string;
}

const short = (hex: string): string => `${hex.slice(0, 16)}…`;

export async function checkProof(proof: ProofDoc, shown: ShownReading): Promise<Check[]> {
  const checks: Check[] = [];
  let text: string;
  try {
    text = canonicalJson(proof.reading);
  } catch (err) {
    return [{ what: 'canonical', holds: false, detail: (err as Error).message }];
  }
  checks.push(
    text === proof.canonical
      ? { what: 'canonical', holds: true, detail: `${text.length} characters, RFC 8785` }
      : {
          what: 'canonical',
          holds: false,
          detail: 'the reading of the proof does not give the text the proof names',
        },
  );
  checks.push(sameReading(proof.reading, shown));

  const leaf = await leafHashOf(new TextEncoder().encode(text));
  const leafHex = toHex(leaf);
  checks.push(
    leafHex === proof.leaf
      ? {
          what: 'leaf',
          holds: true,
          detail: `SHA-256(0x00 ‖ reading) = ${short(leafHex)}`,
        }
      : {
          what: 'leaf',
          holds: false,
          detail: `the reading hashes to ${short(leafHex)}, the batch holds ${short(proof.leaf)}`,
        },
  );

  let root: Uint8Array | null;
  try {
    root = await rootOfPath(leaf, proof.leaf_index, proof.count, proof.path.map(fromHex));
  } catch (err) {
    root = null;
    checks.push({ what: 'path', holds: false, detail: (err as Error).message });
    return checks;
  }
  const rootHex = root ? toHex(root) : null;
  checks.push(
    rootHex === proof.root
      ? {
          what: 'path',
          holds: true,
          detail: `${proof.path.length} hashes lead to root ${short(proof.root)} of ${proof.count} reading(s)`,
        }
      : {
          what: 'path',
          holds: false,
          detail: rootHex
            ? `the path leads to ${short(rootHex)}, not to the batch's root ${short(proof.root)}`
            : `the path cannot belong to leaf ${proof.leaf_index} of ${proof.count}`,
        },
  );
  return checks;
}

/** The proof is about the reading shown: same id, device, time and values. */
function sameReading(r: { [name: string]: Json }, shown: ShownReading): Check {
  const time = typeof r.time === 'string' ? Date.parse(r.time) : NaN;
  const differs = [
    r.id !== shown.id && 'id',
    r.device_id !== shown.device_id && 'device',
    // The API gives times to the millisecond, the canonical form to the microsecond.
    Math.abs(time - Date.parse(shown.time)) >= 1 && 'time',
    r.temperature_c !== shown.temperature_c && 'temperature',
    r.humidity_pct !== shown.humidity_pct && 'humidity',
  ].filter((d): d is string => typeof d === 'string');
  return differs.length === 0
    ? {
        what: 'reading',
        holds: true,
        detail: `reading ${shown.id} of ${shown.device_id} as shown on this page`,
      }
    : {
        what: 'reading',
        holds: false,
        detail: `the proof's reading differs from the one shown in ${differs.join(', ')}`,
      };
}
