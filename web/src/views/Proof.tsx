import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, type Session } from '../api.js';
import { celsius, dateTime, percent } from '../format.js';
import { devicePath, follow } from '../router.js';
import type { Reading } from '../types.js';
import { checkProof, type Check, type ProofDoc } from '../verify/proof.js';

/**
 * A reading and its proof, with links to the IPFS manifest and the ledger message,
 * and a Verify button that recomputes the reading's leaf and the Merkle path here,
 * in the browser.
 */
export function ProofPage({ id, session }: { id: string; session: Session }) {
  const [reading, setReading] = useState<Reading | null>(null);
  const [proof, setProof] = useState<ProofDoc | null>(null);
  const [pending, setPending] = useState<string | null>(null);
  const [checks, setChecks] = useState<Check[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setChecks(null);
    getJson<Reading>(session.token, `/api/v1/readings/${encodeURIComponent(id)}`)
      .then(setReading)
      .catch((err: Error) => setError(err.message));
    getJson<ProofDoc>(session.token, `/api/v1/readings/${encodeURIComponent(id)}/proof`)
      .then((p) => {
        setProof(p);
        setPending(null);
      })
      .catch((err: Error) =>
        err instanceof ApiError && err.code === 'PROOF_PENDING'
          ? setPending(err.message)
          : setError(err.message),
      );
  }, [id, session.token]);

  const verify = async (): Promise<void> => {
    if (!proof || !reading) return;
    try {
      setChecks(await checkProof(proof, reading));
    } catch (err) {
      setChecks([{ what: 'canonical', holds: false, detail: (err as Error).message }]);
    }
  };
  const holds = checks !== null && checks.every((c) => c.holds);

  return (
    <section class="proof">
      <p class="crumbs">
        {reading ? (
          <a href={devicePath(reading.device_id)} onClick={follow}>
            {reading.device_id}
          </a>
        ) : null}{' '}
        › reading {id}
      </p>
      <h1>Proof of reading {id}</h1>
      {error ? <p class="error">{error}</p> : null}
      {reading ? (
        <p class="reading-line">
          <strong>{celsius(reading.temperature_c)}</strong>,{' '}
          {percent(reading.humidity_pct)} RH at {dateTime(reading.time)} (
          {reading.time_source} clock), quality {reading.quality}
        </p>
      ) : null}
      {pending ? <p class="hint">{pending}</p> : null}
      {proof ? (
        <>
          <dl class="facts">
            <dt>Batch</dt>
            <dd>
              {proof.batch_id}: leaf {proof.leaf_index + 1} of {proof.count} (
              {proof.scheme})
            </dd>
            <dt>Leaf</dt>
            <dd class="hash">{proof.leaf}</dd>
            <dt>Merkle root</dt>
            <dd class="hash">{proof.root}</dd>
            <dt>IPFS manifest</dt>
            <dd class="hash">
              {proof.manifest_cid ? (
                <IpfsLinks cid={proof.manifest_cid} />
              ) : (
                'not pinned yet'
              )}
            </dd>
            <dt>Ledger message</dt>
            <dd>
              <LedgerLinks proof={proof} />
            </dd>
          </dl>
          <button
            type="button"
            class="primary"
            onClick={() => void verify()}
            disabled={!reading}
          >
            Verify in this browser
          </button>
          {checks ? (
            <div class={`verdict ${holds ? 'ok' : 'bad'}`} role="status">
              <p class="verdict-head">
                {holds
                  ? '✓ Verified: this reading is the one anchored in the batch'
                  : '✕ Does not verify'}
              </p>
              <ul>
                {checks.map((c) => (
                  <li class={c.holds ? 'ok' : 'bad'}>
                    {c.holds ? '✓' : '✕'} <strong>{c.what}</strong>: {c.detail}
                  </li>
                ))}
              </ul>
              <p class="hint">
                Hashes were computed here with WebCrypto, from the reading itself. That
                the ledger message names this root is checked on the ledger (link above)
                or with <code>node bin/heru.js verify {id}</code>.
              </p>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function IpfsLinks({ cid }: { cid: string }) {
  return (
    <>
      {cid}{' '}
      <a href={`https://ipfs.io/ipfs/${cid}`} target="_blank" rel="noopener noreferrer">
        open on a public IPFS gateway
      </a>{' '}
      (there only when pinned to a public node, such as Pinata)
    </>
  );
}

function LedgerLinks({ proof }: { proof: ProofDoc }) {
  if (proof.topic_id === null || proof.sequence_number === null)
    return <>not anchored yet</>;
  const where = `message ${proof.sequence_number} of topic ${proof.topic_id}`;
  const at = proof.consensus_time ? `, ordered at ${dateTime(proof.consensus_time)}` : '';
  if (proof.ledger !== 'hedera') {
    return (
      <>
        {where}
        {at} on this server's local ledger (no public copy; check it with{' '}
        <code>node bin/heru.js verify {proof.reading_id}</code>)
      </>
    );
  }
  const path = `topic/${proof.topic_id}/message/${proof.sequence_number}`;
  return (
    <>
      {where}
      {at} on Hedera:{' '}
      <a
        href={`https://hashscan.io/mainnet/${path}`}
        target="_blank"
        rel="noopener noreferrer"
      >
        HashScan mainnet
      </a>{' '}
      ·{' '}
      <a
        href={`https://hashscan.io/testnet/${path}`}
        target="_blank"
        rel="noopener noreferrer"
      >
        testnet
      </a>
    </>
  );
}
