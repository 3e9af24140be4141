/**
 * The readings waiting for the rule engine, one queue per device, and which devices
 * a turn is working on.
 *
 * A device's readings must be evaluated in order, so a turn takes all that waits of
 * each device it takes (up to its limit), and no other turn takes that device until
 * it is done. Devices are otherwise independent, which lets the engine run two lanes:
 *
 * - the *main* lane takes devices in the order their oldest waiting reading came;
 * - the *urgent* lane takes the devices with an urgent reading waiting (urgency.ts),
 *   whatever waits before them, so that a reading that may raise an alarm is not stuck
 *   behind a backlog. The main lane leaves those devices to it.
 */
import type { EngineReading } from './engine.js';

export type Lane = 'main' | 'urgent';

/** What one turn took: its devices and their readings. */
export interface Taken {
  devices: string[];
  readings: EngineReading[];
}

export class ReadingQueue {
  /** Waiting readings by device, devices in the order their oldest waiting reading came. */
  private readonly waiting = new Map<string, EngineReading[]>();
  private readonly urgent = new Set<string>();
  /** Devices a turn is working on. */
  private readonly busy = new Set<string>();
  private count = 0;

  /** Readings waiting (not those of turns in progress). */
  get size(): number {
    return this.count;
  }

  push(r: EngineReading, urgent: boolean): void {
    const list = this.waiting.get(r.deviceId);
    if (list) list.push(r);
    else this.waiting.set(r.deviceId, [r]);
    if (urgent) this.urgent.add(r.deviceId);
    this.count += 1;
  }

  /** True when a turn of this lane would find something to take. */
  hasWork(lane: Lane): boolean {
    if (lane === 'urgent') {
      for (const d of this.urgent) if (!this.busy.has(d)) return true;
      return false;
    }
    for (const d of this.waiting.keys()) {
      if (!this.busy.has(d) && !this.urgent.has(d)) return true;
    }
    return false;
  }

  /**
   * Takes up to `max` readings for a turn of `lane` (more than that of one device are
   * taken over several turns, oldest first) and marks their devices busy.
   */
  take(lane: Lane, max: number): Taken {
    const taken: Taken = { devices: [], readings: [] };
    const candidates = lane === 'urgent' ? [...this.urgent] : [...this.waiting.keys()];
    for (const d of candidates) {
      if (taken.readings.length >= max) break;
      if (this.busy.has(d) || (lane === 'main' && this.urgent.has(d))) continue;
      const list = this.waiting.get(d);
      if (!list) {
        this.urgent.delete(d);
        continue;
      }
      const room = max - taken.readings.length;
      const mine = list.length <= room ? list : list.splice(0, room);
      if (mine === list) {
        this.waiting.delete(d);
        this.urgent.delete(d);
      }
      for (const r of mine) taken.readings.push(r);
      taken.devices.push(d);
      this.busy.add(d);
      this.count -= mine.length;
    }
    return taken;
  }

  /** The turn is over (evaluated or given up): its devices may be taken again. */
  release(taken: Taken): void {
    for (const d of taken.devices) this.busy.delete(d);
  }
}
