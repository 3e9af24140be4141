import { backlog } from './backlog.js';
import type { Codec } from './codec.js';
import { esphome } from './esphome.js';
import { heruFirmware } from './heruFirmware.js';
import { heruV1 } from './heruV1.js';
import { mappedCodec, type MappingSource } from './mapped.js';
import { tasmota } from './tasmota.js';

/** This server's own formats; no mapping may take their topics. */
const OWN: readonly Codec[] = [heruV1, heruFirmware, backlog];
/** The firmwares people flash; an operator's mapping of the same topics comes first. */
const FIRMWARES: readonly Codec[] = [tasmota, esphome];

/** Every built-in codec, in the order topics are tried. */
export const CODECS: readonly Codec[] = [...OWN, ...FIRMWARES];

/** The built-in codecs with the operator's mappings, in the order topics are tried. */
export function codecsWith(mappings: MappingSource): readonly Codec[] {
  return [...OWN, mappedCodec(mappings), ...FIRMWARES];
}

export type { Codec, Decoded } from './codec.js';
