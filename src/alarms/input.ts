/**
 * Checks of what people send about alarms and profiles: who they are and their
 * comment. Each failure says which field is wrong and what it must be.
 */

export class InputError extends Error {}

const MAX_BY = 100;
const MAX_COMMENT = 2000;

/** The body as an object, or an InputError naming the expected form. */
export function bodyObject(body: unknown, example: string): Record<string, unknown> {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    return body as Record<string, unknown>;
  }
  throw new InputError(`The body must be a JSON object such as ${example}.`);
}

/** `by`: who acts, 1–100 characters (a name, an e-mail address, a user id). */
export function actor(body: Record<string, unknown>): string {
  const by = body.by;
  if (typeof by !== 'string' || by.trim() === '' || by.length > MAX_BY) {
    throw new InputError(
      `\`by\` must say who acts: a name or user id of 1 to ${MAX_BY} characters.`,
    );
  }
  return by.trim();
}

/** `comment`: optional, at most 2,000 characters; null when absent or blank. */
export function comment(body: Record<string, unknown>): string | null {
  const c = body.comment;
  if (c === undefined || c === null) return null;
  if (typeof c !== 'string' || c.length > MAX_COMMENT) {
    throw new InputError(
      `\`comment\` must be text of at most ${MAX_COMMENT} characters.`,
    );
  }
  return c.trim() === '' ? null : c.trim();
}

/** `reason`: why an alarm is closed by hand; required, 1 to 2,000 characters. */
export function reason(body: Record<string, unknown>): string {
  const r = body.reason;
  if (typeof r !== 'string' || r.trim() === '' || r.length > MAX_COMMENT) {
    throw new InputError(
      `\`reason\` must say why the alarm is closed by hand: text of 1 to ${MAX_COMMENT} characters.`,
    );
  }
  return r.trim();
}
