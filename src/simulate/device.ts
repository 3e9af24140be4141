/**
 * One simulated device: an ESP32 with a DS18B20 probe in a fridge, numbering its
 * readings by boot and sequence and stamping them with its clock.
 *
 * Events happen at random with fixed mean spacings of device time (a Poisson process),
 * so their rate does not depend on the reading interval:
 *
 * - door openings (always), every 45 min on average, 10–45 s each;
 * - excursions (`excursions`): a thermostat fault every 60 min on average, lasting
 *   20–120 min, three in four of them warm (`stuck-off`), the rest freezing;
 * - sensor faults (`faults`): the probe disconnected (−127 °C for 1–5 readings) and a
 *   failed read (NaN, sent as null), each every 30 min; a reboot every 2 h, after
 *   which the boot counter goes up, the sequence restarts at 0 and the first reading
 *   is the DS18B20's power-on value, 85.0 °C;
 * - offline periods (`offline`): every 30 min on average, 1–15 min long. A buffering
 *   device keeps its readings (up to 5000, oldest dropped first) and sends them as a
 *   burst when it is back; one that does not buffer (the existing firmware) loses them.
 */
import { Fridge } from './fridge.js';
import type { HeruV1Reading } from './payload.js';
import type { Random } from './random.js';

const MINUTE = 60_000;
const DOOR_EVERY_MS = 45 * MINUTE;
const EXCURSION_EVERY_MS = 60 * MINUTE;
const PROBE_LOST_EVERY_MS = 30 * MINUTE;
const NAN_EVERY_MS = 30 * MINUTE;
const REBOOT_EVERY_MS = 120 * MINUTE;
const OFFLINE_EVERY_MS = 30 * MINUTE;
/** Readings a buffering device keeps while offline. */
export const BUFFER_LIMIT = 5000;

export interface SimDeviceOptions {
  id: string;
  random: Random;
  excursions?: boolean;
  faults?: boolean;
  offline?: boolean;
  /** Keep readings while offline and send them later, default true. */
  buffers?: boolean;
}

/** Readings to send now: one live reading, or a burst of buffered ones. */
export interface Emission {
  readings: HeruV1Reading[];
  burst: boolean;
}

export class SimDevice {
  readonly id: string;
  private readonly random: Random;
  private readonly fridge: Fridge;
  private boot: number;
  private seq = 0;
  private lastMs: number | undefined;
  private humidity: number;
  private readonly humidityBase: number;
  private batteryPct: number;
  private readonly rssiBase: number;
  private probeLost = 0;
  private readFails = false;
  private poweredOn = false;
  private offlineUntil: number | undefined;
  private buffer: HeruV1Reading[] = [];
  /** Readings lost: dropped while offline without buffering, or past the buffer limit. */
  lost = 0;

  constructor(private readonly options: SimDeviceOptions) {
    this.id = options.id;
    this.random = options.random;
    this.fridge = new Fridge(this.random);
    this.boot = this.random.int(1, 40);
    this.humidityBase = this.random.between(40, 55);
    this.humidity = this.humidityBase;
    this.batteryPct = this.random.between(60, 100);
    this.rssiBase = this.random.int(-80, -50);
  }

  /** True while the device cannot reach the broker. */
  get isOffline(): boolean {
    return this.offlineUntil !== undefined;
  }

  /** Takes the reading due at `nowMs` (device time) and says what to send now. */
  tick(nowMs: number): Emission[] {
    const dt = this.lastMs === undefined ? 0 : Math.max(0, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.fridge.advance(dt);
    this.humidityStep(dt);
    this.batteryPct = Math.max(5, this.batteryPct - dt / (8 * 60 * MINUTE));

    const out: Emission[] = [];
    if (this.offlineUntil !== undefined && nowMs >= this.offlineUntil) {
      this.offlineUntil = undefined;
      out.push(...this.flush());
    }
    this.startEvents(dt, nowMs);
    const reading = this.read(nowMs);
    if (this.offlineUntil === undefined) out.push({ readings: [reading], burst: false });
    else this.keep(reading);
    return out;
  }

  /** Sends what is buffered (the device comes back before the run ends). */
  flush(): Emission[] {
    if (this.buffer.length === 0) return [];
    const readings = this.buffer;
    this.buffer = [];
    return [{ readings, burst: true }];
  }

  private startEvents(dt: number, nowMs: number): void {
    const r = this.random;
    const o = this.options;
    if (r.chance(dt, DOOR_EVERY_MS)) this.fridge.openDoor(r.between(10_000, 45_000));
    if (o.excursions && !this.fridge.faulty && r.chance(dt, EXCURSION_EVERY_MS)) {
      const kind = r.next() < 0.75 ? 'stuck-off' : 'stuck-on';
      this.fridge.startFault(kind, r.between(20, 120) * MINUTE);
    }
    if (o.faults) {
      if (r.chance(dt, PROBE_LOST_EVERY_MS)) this.probeLost = r.int(1, 5);
      if (r.chance(dt, NAN_EVERY_MS)) this.readFails = true;
      if (r.chance(dt, REBOOT_EVERY_MS)) this.reboot();
    }
    if (o.offline && this.offlineUntil === undefined && r.chance(dt, OFFLINE_EVERY_MS)) {
      this.offlineUntil = nowMs + r.between(1, 15) * MINUTE;
    }
  }

  private reboot(): void {
    this.boot += 1;
    this.seq = 0;
    this.poweredOn = true;
  }

  private read(nowMs: number): HeruV1Reading {
    const battery = round(this.batteryPct, 0);
    return {
      boot: this.boot,
      seq: this.seq++,
      time: new Date(nowMs).toISOString(),
      temperature: this.probeValue(),
      humidity: round(this.humidity + this.random.normal(0, 0.3), 2),
      battery_pct: battery,
      battery_v: round(3.3 + (0.9 * battery) / 100, 2),
      rssi: Math.round(this.rssiBase + this.random.normal(0, 3)),
    };
  }

  /** What the DS18B20 answers: 1/16 °C steps, or one of its failure values. */
  private probeValue(): number | null {
    const measured = this.fridge.air + this.random.normal(0, 0.05);
    if (this.poweredOn) {
      this.poweredOn = false;
      return 85;
    }
    if (this.probeLost > 0) {
      this.probeLost -= 1;
      return -127;
    }
    if (this.readFails) {
      this.readFails = false;
      return null;
    }
    return round(Math.round(measured * 16) / 16, 2);
  }

  private humidityStep(dt: number): void {
    const [target, tauMs] = this.fridge.doorOpen
      ? [70, 2 * MINUTE]
      : [this.humidityBase, 15 * MINUTE];
    this.humidity = target + (this.humidity - target) * Math.exp(-dt / tauMs);
  }

  private keep(reading: HeruV1Reading): void {
    if (this.options.buffers === false) {
      this.lost += 1;
      return;
    }
    this.buffer.push(reading);
    if (this.buffer.length > BUFFER_LIMIT) {
      this.buffer.shift();
      this.lost += 1;
    }
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
