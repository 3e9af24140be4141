/**
 * The API as the dashboard calls it: every request carries the signed-in token in
 * the Authorization header (never in a URL), and an error body becomes an ApiError
 * with the server's code and sentence.
 */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  token: string;
  name: string;
  role: Role;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** True when `have` allows what `need` allows. */
export function allows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Called with every 401: the token was revoked, the page signs out. */
let onUnauthorized: () => void = () => undefined;

export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function request(
  token: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (res.ok) return res;
  let code = 'HTTP_' + res.status;
  let message = `The server answered ${res.status}.`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page): keep the status.
  }
  if (res.status === 401) onUnauthorized();
  throw new ApiError(res.status, code, message);
}

export async function getJson<T>(token: string, path: string): Promise<T> {
  return (await (await request(token, path)).json()) as T;
}

export async function postJson<T>(
  token: string,
  path: string,
  body: unknown,
): Promise<T> {
  const res = await request(token, path, { method: 'POST', body: JSON.stringify(body) });
  return (await res.json()) as T;
}

/** Checks a token and learns its name and role. */
export async function signIn(token: string): Promise<Session> {
  const s = await getJson<{ name: string; role: Role }>(token, '/api/v1/session');
  return { token, name: s.name, role: s.role };
}
