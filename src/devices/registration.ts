/**
 * A device's registration: what an operator declares about it (site, how it proves
 * who it is, whether it may send readings), and the checks of what people send.
 * Each failure names the field and the form it must have.
 */
import { InputError, actor, bodyObject, comment } from '../alarms/input.js';
import { isValidDeviceId } from '../ingest/deviceId.js';

export const DEVICE_STATUSES = ['active', 'disabled'] as const;
export type RegistrationStatus = (typeof DEVICE_STATUSES)[number];

/** How a device proves who it is to the broker. */
export const CREDENTIAL_KINDS = ['certificate', 'password', 'none'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * Ids no device may take: the server's ingest user (it reads every topic), and the
 * first level of the topic formats, which a device of that name would own in part.
 */
export const RESERVED_DEVICE_IDS: readonly string[] = [
  'heru-ingest',
  'heru',
  'tele',
  'stat',
  'cmnd',
  'homeassistant',
];

/** The registry fields that can be set; absent ones are left as they are. */
export interface RegistryFields {
  status?: RegistrationStatus;
  site?: string | null;
  credentials?: CredentialKind;
  certFingerprint?: string | null;
}

/** A registration request: the device, its fields, who asks and why. */
export interface Registration {
  deviceId: string;
  fields: RegistryFields;
  /** A profile to give the device as well (alarms' `device_profile`). */
  profile?: string;
  by: string;
  comment: string | null;
}

/** A change of an existing device's fields. */
export interface RegistryPatch {
  fields: RegistryFields;
  by: string;
  comment: string | null;
}

const MAX_SITE = 200;

/** Throws an InputError unless `id` is a device id a device may be registered under. */
export function registrableId(id: unknown, ingestUser = 'heru-ingest'): string {
  if (typeof id !== 'string' || !isValidDeviceId(id)) {
    throw new InputError(
      '`device_id` must be 1–64 characters of [A-Za-z0-9._:-], starting with a letter or digit.',
    );
  }
  if (id === ingestUser || RESERVED_DEVICE_IDS.includes(id.toLowerCase())) {
    throw new InputError(
      `\`device_id\` ${JSON.stringify(id)} is reserved (the server's own user, or the first level of a topic format); choose another.`,
    );
  }
  return id;
}

/** The body of `POST /api/v1/devices`. */
export function parseRegistration(body: unknown): Registration {
  const o = bodyObject(
    body,
    '{"device_id": "fridge-7", "site": "Clinic North", "credentials": "certificate", "by": "it.admin"}',
  );
  const fields = parseFields(o);
  fields.credentials ??= fields.certFingerprint ? 'certificate' : 'none';
  const r: Registration = {
    deviceId: registrableId(o.device_id),
    fields,
    by: actor(o),
    comment: comment(o),
  };
  if (o.profile !== undefined) {
    if (typeof o.profile !== 'string' || o.profile === '')
      throw new InputError('`profile` must be the name of a profile.');
    r.profile = o.profile;
  }
  return r;
}

/** The body of `PATCH /api/v1/devices/{id}`. */
export function parsePatch(body: unknown): RegistryPatch {
  const o = bodyObject(
    body,
    '{"status": "disabled", "by": "it.admin", "comment": "stolen"}',
  );
  const fields = parseFields(o);
  if (Object.keys(fields).length === 0) {
    throw new InputError(
      'Nothing to change: give `status`, `site`, `credentials` or `cert_fingerprint`.',
    );
  }
  return { fields, by: actor(o), comment: comment(o) };
}

function parseFields(o: Record<string, unknown>): RegistryFields {
  const f: RegistryFields = {};
  if (o.status !== undefined) f.status = oneOf(o.status, DEVICE_STATUSES, 'status');
  if (o.credentials !== undefined)
    f.credentials = oneOf(o.credentials, CREDENTIAL_KINDS, 'credentials');
  if (o.site !== undefined) f.site = parseSite(o.site);
  if (o.cert_fingerprint !== undefined)
    f.certFingerprint = parseFingerprint(o.cert_fingerprint);
  return f;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new InputError(`\`${name}\` must be one of ${allowed.join(', ')}.`);
}

function parseSite(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || v.length > MAX_SITE || /\p{Cc}/u.test(v)) {
    throw new InputError(
      `\`site\` must be text of at most ${MAX_SITE} characters, or null.`,
    );
  }
  return v.trim() === '' ? null : v.trim();
}

/** A SHA-256 fingerprint: 64 hex digits, with or without colons, any case. */
export function parseFingerprint(v: unknown): string | null {
  if (v === null) return null;
  const hex = typeof v === 'string' ? v.replace(/:/g, '').toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new InputError(
      '`cert_fingerprint` must be the SHA-256 of the certificate: 64 hex digits (colons allowed), or null.',
    );
  }
  return hex;
}
