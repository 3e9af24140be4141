/**
 * The anchoring jobs and their ids. Ids name the work, so the same work added twice
 * while it waits is one job:
 *
 * - `seal-{n}`: seal whatever waits (mode `window`), for ingest window number n (the
 *   time of the first commit in it divided by the window length), run one window
 *   after that commit; `seal-{n}-full-{k}` (mode `full`) runs at once when a batch's
 *   worth has been stored; `seal-reconcile` (mode `due`) when the reconciler finds
 *   readings that waited a whole window.
 * - `batch-{id}`: anchor batch id, from wherever it stands.
 */

export const SEAL_JOB = 'seal';
export const ANCHOR_JOB = 'anchor';

export const anchorJobId = (batchId: string): string => `batch-${batchId}`;

export const windowJobId = (window: number): string => `seal-${window}`;

export const fullJobId = (window: number, k: number): string =>
  `seal-${window}-full-${k}`;
