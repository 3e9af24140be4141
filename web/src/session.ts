/**
 * Where the token is kept: for this tab only (sessionStorage) unless the person asks
 * to stay signed in on this device (localStorage). The page loads nothing from other
 * origins, so no other script can read it.
 */
const KEY = 'heru.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function storeToken(token: string, remember: boolean): void {
  forgetToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}
