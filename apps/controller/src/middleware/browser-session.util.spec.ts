import { clearedTokenCookie, parseCookies, TOKEN_COOKIE, tokenCookie } from './browser-session.util';

describe('browser session cookie', () => {
  it('reads cookies by name, decoding values and keeping the first of duplicates', () => {
    const cookies = parseCookies('a=1; berth_token=bt_abc%2Bdef; theme="dark"; a=2; junk; =x');
    expect(cookies.get(TOKEN_COOKIE)).toBe('bt_abc+def');
    expect(cookies.get('a')).toBe('1');
    expect(cookies.get('theme')).toBe('dark');
    expect(cookies.has('junk')).toBe(false);
    expect(cookies.size).toBe(3);
  });

  it('keeps a value that is not valid percent-encoding as it is', () => {
    expect(parseCookies('berth_token=50%zz').get(TOKEN_COOKIE)).toBe('50%zz');
    expect(parseCookies(undefined).size).toBe(0);
  });

  it('sets an HttpOnly, SameSite=Strict cookie, Secure only over HTTPS, and clears it', () => {
    expect(tokenCookie('bt_a+b', false)).toBe('berth_token=bt_a%2Bb; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800');
    expect(tokenCookie('bt_x', true)).toMatch(/; Secure$/);
    expect(clearedTokenCookie(false)).toBe('berth_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
  });
});
