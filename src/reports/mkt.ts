/**
 * Mean kinetic temperature: the single temperature that would degrade a product as
 * much as the varying temperatures it went through (Haynes' formula, as USP <1160>
 * and the WHO technical supplement on temperature mapping use it):
 *
 *   MKT = (ΔH/R) / −ln( Σ wᵢ·e^(−ΔH/(R·Tᵢ)) / Σ wᵢ )
 *
 * with Tᵢ in kelvin, ΔH/R = 10,000 K (ΔH = 83.144 kJ/mol), and each temperature
 * weighted by how long it stood (see coverage.ts), so irregular intervals between
 * readings do not tilt the result.
 */
import type { Stretch } from './coverage.js';

/** ΔH/R in kelvin: activation energy over the gas constant. */
export const ACTIVATION_OVER_R_K = 10_000;

const KELVIN = 273.15;

/** MKT in °C of the stretches, or null when they cover no time. */
export function meanKineticTemperature(known: readonly Stretch[]): number | null {
  let weights = 0;
  let sum = 0;
  for (const k of known) {
    const w = k.end - k.start;
    if (w <= 0) continue;
    weights += w;
    sum += w * Math.exp(-ACTIVATION_OVER_R_K / (k.valueC + KELVIN));
  }
  if (weights === 0) return null;
  return ACTIVATION_OVER_R_K / -Math.log(sum / weights) - KELVIN;
}
