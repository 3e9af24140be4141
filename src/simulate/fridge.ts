/**
 * The air temperature inside a simulated vaccine fridge.
 *
 * A thermostat switches the compressor on at the upper set point (about 6 °C) and off
 * at the lower one (about 4 °C). The air moves towards a target with first-order lag:
 * towards the evaporator (−3 °C) while the compressor runs, towards the room (22 °C)
 * through the walls while it rests, and quickly towards the room while the door is
 * open. That gives the sawtooth of a compressor cycle (about 17 minutes) and the short
 * spikes of door openings seen in real loggers.
 *
 * A thermostat fault overrides the compressor for a while: `stuck-off` (a power cut or
 * a failed compressor: the fridge warms past 8 °C within about 20 minutes) or
 * `stuck-on` (the fridge freezes below 0 °C within about 30 minutes).
 */
import type { Random } from './random.js';

export type ThermostatFault = 'stuck-off' | 'stuck-on';

const ROOM_C = 22;
const EVAPORATOR_C = -3;
/** Time constants, milliseconds. */
const TAU_WALLS_MS = 90 * 60_000;
const TAU_COOLING_MS = 25 * 60_000;
const TAU_DOOR_MS = 4 * 60_000;
/** Longest step of the integration, so that a switch point is not overshot far. */
const MAX_STEP_MS = 5_000;

export class Fridge {
  /** Air temperature, °C. */
  air: number;
  private compressorOn = false;
  private doorOpenMs = 0;
  private fault: ThermostatFault | undefined;
  private faultMs = 0;
  private readonly onAt: number;
  private readonly offAt: number;

  /** A fridge whose set points differ a little per device. */
  constructor(random: Random) {
    this.onAt = 6 + random.between(-0.3, 0.2);
    this.offAt = 4 + random.between(-0.2, 0.3);
    this.air = random.between(this.offAt, this.onAt);
    this.compressorOn = random.next() < 0.3;
  }

  /** The fault under way, if any. */
  get faulty(): ThermostatFault | undefined {
    return this.fault;
  }

  /** Opens the door for `ms` milliseconds. */
  openDoor(ms: number): void {
    this.doorOpenMs = Math.max(this.doorOpenMs, ms);
  }

  get doorOpen(): boolean {
    return this.doorOpenMs > 0;
  }

  /** Holds the compressor off or on for `ms` milliseconds. */
  startFault(kind: ThermostatFault, ms: number): void {
    this.fault = kind;
    this.faultMs = ms;
  }

  /** Lets `ms` milliseconds pass. */
  advance(ms: number): void {
    let left = ms;
    while (left > 0) {
      const step = Math.min(left, MAX_STEP_MS);
      this.step(step);
      left -= step;
    }
  }

  private step(ms: number): void {
    this.thermostat();
    const [target, tau] = this.doorOpenMs > 0 ? [ROOM_C, TAU_DOOR_MS] : this.drive();
    this.air = target + (this.air - target) * Math.exp(-ms / tau);
    this.doorOpenMs = Math.max(0, this.doorOpenMs - ms);
    if (this.fault !== undefined) {
      this.faultMs -= ms;
      if (this.faultMs <= 0) this.fault = undefined;
    }
  }

  private drive(): [number, number] {
    return this.compressorOn ? [EVAPORATOR_C, TAU_COOLING_MS] : [ROOM_C, TAU_WALLS_MS];
  }

  private thermostat(): void {
    if (this.fault === 'stuck-off') this.compressorOn = false;
    else if (this.fault === 'stuck-on') this.compressorOn = true;
    else if (this.air >= this.onAt) this.compressorOn = true;
    else if (this.air <= this.offAt) this.compressorOn = false;
  }
}
