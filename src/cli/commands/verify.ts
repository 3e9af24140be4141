import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { canonicalize } from '../../anchor/canonical.js';
import { findProof, type ProofDoc } from '../../anchor/proof.js';
import { verifySources } from '../../anchor/setup.js';
import { verifyProof, type VerifyReport } from '../../anchor/verify.js';
import { readConfig } from '../../config/config.js';
import { loadEnv, str } from '../../config/env.js';
import { createPool, type Pool } from '../../db/pool.js';
import { createLogger } from '../../log.js';
import { databaseUrlOf } from '../../embedded/databaseUrl.js';

/** Never connected to: a Hedera proof file is verified without a database. */
const UNUSED_DB = 'postgres://127.0.0.1:1/unused';

const USAGE = `heru verify <reading-id | proof.json> [--json]

Checks a reading's proof end to end: its canonical bytes give the leaf, the path
leads to the batch's root, the ledger message names that root, count and manifest
CID, and the manifest behind the CID lists the leaf. With a reading id the reading
is read from the database as it is now; with a proof file (as GET
/api/v1/readings/{id}/proof gives it) the reading in the file is checked.
Exit code 0 only when every check holds.`;

/** `heru verify`: prints what holds and what does not; exit code 0 only if all hold. */
export async function runVerify(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const target = positionals[0];
  if (values.help || target === undefined || positionals.length > 1) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const byId = /^\d{1,18}$/.test(target);
  const fromFile = byId
    ? undefined
    : proofFromFile(await readFile(target, 'utf8'), target);
  const env = loadEnv();
  // A proof anchored on Hedera is checked against the mirror node and IPFS alone.
  const needsDatabase = fromFile === undefined || fromFile.ledger !== 'hedera';
  const config = readConfig(
    needsDatabase || str(env, 'DATABASE_URL') ? env : { ...env, DATABASE_URL: UNUSED_DB },
  );
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const pool = createPool(databaseUrlOf(config), log, {
    max: 2,
    applicationName: 'heru-verify',
  });
  try {
    const proof = fromFile ?? (await proofFromDatabase(pool, target));
    if (!proof) {
      process.exitCode = 1;
      return;
    }
    const sources = verifySources(env, config.anchor, pool, log);
    const deps = { ledger: sources.ledgerFor(proof.ledger), ipfs: sources.manifests };
    const report = await verifyProof(proof, Buffer.from(proof.canonical, 'utf8'), deps);
    if (values.json)
      console.log(JSON.stringify({ reading_id: proof.reading_id, ...report }, null, 2));
    else print(proof, report);
    process.exitCode = report.holds ? 0 : 1;
  } finally {
    await pool.end();
  }
}

async function proofFromDatabase(pool: Pool, id: string): Promise<ProofDoc | undefined> {
  const found = await findProof(pool, id);
  if (found.kind === 'no-reading') {
    console.log(`Not verified: there is no reading ${id} in the database.`);
  } else if (found.kind === 'pending') {
    const where = found.batchId
      ? `its batch ${found.batchId} is ${found.state}`
      : 'it waits for a batch';
    console.log(`Not verified: reading ${id} is not anchored yet (${where}).`);
  } else {
    return found.proof;
  }
  return undefined;
}

/** Reads a proof file; throws with what is wrong in it. */
function proofFromFile(text: string, path: string): ProofDoc {
  let doc: Partial<ProofDoc>;
  try {
    doc = JSON.parse(text) as Partial<ProofDoc>;
  } catch {
    throw new Error(
      `${path} is not JSON; give a reading id or a proof as the API returns it`,
    );
  }
  const hex = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  const count = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
  const wrong = [
    typeof doc.reading_id !== 'string' && 'reading_id',
    typeof doc.canonical !== 'string' && 'canonical',
    !hex(doc.leaf) && 'leaf',
    !hex(doc.root) && 'root',
    !count(doc.leaf_index) && 'leaf_index',
    !count(doc.count) && 'count',
    !(Array.isArray(doc.path) && doc.path.every(hex)) && 'path',
    typeof doc.batch_id !== 'string' && 'batch_id',
  ].filter((w): w is string => typeof w === 'string');
  if (wrong.length > 0) {
    throw new Error(`${path} is not a proof: ${wrong.join(', ')} missing or malformed`);
  }
  if (doc.reading !== undefined && canonicalize(doc.reading) !== doc.canonical) {
    throw new Error(
      `${path}: its "reading" and its "canonical" text differ; the file was edited`,
    );
  }
  return doc as ProofDoc;
}

function print(proof: ProofDoc, report: VerifyReport): void {
  const r = proof.reading as { device_id?: unknown; time?: unknown } | undefined;
  const about =
    typeof r?.device_id === 'string' && typeof r.time === 'string'
      ? ` of ${r.device_id} at ${r.time}`
      : '';
  console.log(
    `Reading ${proof.reading_id}${about}, batch ${proof.batch_id} (leaf ${proof.leaf_index} of ${proof.count}):`,
  );
  for (const c of report.checks) {
    console.log(
      `  ${c.holds ? 'holds        ' : 'DOES NOT HOLD'}  ${c.what}: ${c.detail}`,
    );
  }
  if (report.holds) {
    console.log(
      `Verified: reading ${proof.reading_id} existed unchanged by ${report.existedBy ?? 'its anchoring'} (ledger consensus time).`,
    );
  } else {
    const failed = report.checks.filter((c) => !c.holds).length;
    console.log(`Not verified: ${failed} of ${report.checks.length} checks do not hold.`);
  }
}
