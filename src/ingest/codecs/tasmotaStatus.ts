import { Quarantine } from '../reasons.js';
import type { Decoded } from './codec.js';
import { describe, isObject, parseJson } from './fields.js';

/**
 * `tele/{id}/LWT`: `Online` when Tasmota connects (retained), `Offline` as its last
 * will. An empty payload is a retained message being cleared: status, saying nothing.
 */
export function tasmotaLwt(payload: Buffer, deviceId: string): Decoded {
  const text = payload.toString('utf8').trim().toLowerCase();
  if (text === '') return { deviceId, drafts: [], status: {} };
  if (text === 'online') return { deviceId, drafts: [], status: { online: true } };
  if (text === 'offline') return { deviceId, drafts: [], status: { online: false } };
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `an LWT message is Online or Offline, got ${describe(payload.toString('utf8'))}`,
  );
}

/**
 * `tele/{id}/STATE`, sent every telemetry period:
 * `{"Time":"…","UptimeSec":912,"Wifi":{"RSSI":74,"Signal":-63,…},…}`. `Wifi.Signal`
 * is the signal in dBm (`Wifi.RSSI` is a quality percentage, not dBm). A signal
 * outside −150…0 dBm is left out.
 */
export function tasmotaState(payload: Buffer, deviceId: string): Decoded {
  const body = parseJson(payload);
  if (!isObject(body))
    throw new Quarantine('INVALID_PAYLOAD', 'a STATE message is a JSON object');
  const wifi = body.Wifi;
  const signal = isObject(wifi) ? wifi.Signal : undefined;
  if (typeof signal === 'number' && signal >= -150 && signal <= 0)
    return { deviceId, drafts: [], status: { rssiDbm: Math.round(signal) } };
  return { deviceId, drafts: [], status: {} };
}
