/**
 * The live fleet: the stream's first event is the whole fleet, later ones replace the
 * tiles that changed and announce changed alarms. Tiles are kept worst first.
 */
import { useEffect, useState } from 'preact/hooks';
import { openStream } from './stream.js';
import type { Alarm, Fleet, FleetTile, TilesEvent } from './types.js';

const RANK = [
  'excursion',
  'out_of_range',
  'offline',
  'sensor_fault',
  'battery_low',
  'no_data',
  'in_range',
];

export function sortTiles(tiles: FleetTile[]): FleetTile[] {
  return tiles.sort(
    (a, b) =>
      RANK.indexOf(a.status) - RANK.indexOf(b.status) ||
      b.unacknowledged - a.unacknowledged ||
      a.device_id.localeCompare(b.device_id),
  );
}

export interface Live {
  fleet: Fleet | null;
  state: 'live' | 'connecting' | 'signed_out';
  /** Devices whose tile changed in the last event, to show the change. */
  changed: ReadonlySet<string>;
  /** Counts alarm events: pages that show alarms reload when it moves. */
  alarmVersion: number;
  lastAlarms: Alarm[];
}

export function useLive(token: string, onSignedOut: () => void): Live {
  const [live, setLive] = useState<Live>({
    fleet: null,
    state: 'connecting',
    changed: new Set(),
    alarmVersion: 0,
    lastAlarms: [],
  });
  useEffect(
    () =>
      openStream(token, {
        onState(state) {
          setLive((l) => ({ ...l, state }));
          if (state === 'signed_out') onSignedOut();
        },
        onEvent(name, data) {
          if (name === 'fleet') {
            // For the browser's performance timeline (DevTools, the benchmark).
            performance.mark('heru:fleet');
            setLive((l) => ({ ...l, fleet: data as Fleet, changed: new Set() }));
          } else if (name === 'tiles') {
            setLive((l) =>
              l.fleet ? { ...l, ...merge(l.fleet, data as TilesEvent) } : l,
            );
          } else if (name === 'alarms') {
            const alarms = (data as { alarms: Alarm[] }).alarms;
            setLive((l) => ({
              ...l,
              alarmVersion: l.alarmVersion + 1,
              lastAlarms: alarms,
            }));
          }
        },
      }),
    [token],
  );
  return live;
}

function merge(fleet: Fleet, e: TilesEvent): Pick<Live, 'fleet' | 'changed'> {
  const byId = new Map(fleet.devices.map((t) => [t.device_id, t]));
  for (const t of e.tiles) byId.set(t.device_id, t);
  return {
    fleet: {
      at: e.at,
      spark: { ...fleet.spark, from: e.spark_from, complete: e.spark_complete },
      devices: sortTiles([...byId.values()]),
    },
    changed: new Set(e.tiles.map((t) => t.device_id)),
  };
}
