const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** True for ids of 1–64 characters from [A-Za-z0-9._:-], starting with a letter or digit. */
export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID.test(id);
}
