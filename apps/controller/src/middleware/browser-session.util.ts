/**
 * The browser credential of the admin pages (/queues): the API token itself in an HttpOnly, SameSite=Strict
 * cookie, so page scripts cannot read it and other sites cannot make the browser send it.
 */
export const TOKEN_COOKIE = 'berth_token';

/** A browser session ends with the browser, or after this long at the latest. */
export const TOKEN_COOKIE_MAX_AGE_SECONDS = 8 * 3600;

/** Cookie values of a Cookie header, by name (first occurrence wins, values percent-decoded when valid). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator <= 0) continue;
    const name = part.slice(0, separator).trim();
    let value = part.slice(separator + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name === '' || cookies.has(name)) continue;
    cookies.set(name, safeDecode(value));
  }
  return cookies;
}

/** Set-Cookie for a signed-in browser; Secure when the page was reached over HTTPS. */
export function tokenCookie(token: string, secure: boolean): string {
  return [`${TOKEN_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${TOKEN_COOKIE_MAX_AGE_SECONDS}`, ...(secure ? ['Secure'] : [])].join('; ');
}

/** Set-Cookie that removes the token cookie. */
export function clearedTokenCookie(secure: boolean): string {
  return [`${TOKEN_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(secure ? ['Secure'] : [])].join('; ');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
