import type { Codec } from './codec.js';
import { heruFirmware } from './heruFirmware.js';
import { heruV1 } from './heruV1.js';

/** Every codec ingest knows, in the order topics are tried. */
export const CODECS: readonly Codec[] = [heruV1, heruFirmware];

export type { Codec, Decoded } from './codec.js';
