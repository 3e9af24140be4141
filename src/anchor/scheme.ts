/**
 * The anchoring scheme: how a reading becomes a leaf and leaves become a root. Its
 * name is written into every manifest and every ledger message, so a verifier years
 * from now knows which rules to apply; a change to any rule needs a new name.
 */

/** Name and version of the scheme this code writes and checks. */
export const ANCHOR_SCHEME = 'heru-anchor/1';

/** The rules of ANCHOR_SCHEME in words, written into each manifest. */
export const SCHEME_RULES = {
  reading:
    'RFC 8785 JSON of the stored reading fields; 64-bit integers as strings; ' +
    'times in UTC with six fractional digits',
  leaf: 'SHA-256(0x00 || canonical reading bytes)',
  node: 'SHA-256(0x01 || left || right)',
  tree: 'RFC 6962 section 2.1',
} as const;

/** What a manifest lists: the leaves only, or the canonical readings as well. */
export type ManifestContent = 'leaves' | 'readings';
