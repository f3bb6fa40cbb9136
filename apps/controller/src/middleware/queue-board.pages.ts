/** The sign-in page of the queue board: server-rendered, no script, one inline stylesheet. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/** No script at all; style only from the page itself (the hash-free 'unsafe-inline' is limited to styles). */
export const SIGN_IN_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Bull Board's UI: its own scripts and styles; fonts from Google are blocked (no network), system fonts used. */
export const BOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export function signInPage(action: string, message: string | null): string {
  const notice = message === null ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Berth queues: sign in</title>
<style>
body { margin: 0; font: 14px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; background: #f4f6f8; color: #1b2430; }
header { background: #17212e; color: #fff; padding: 0.75rem 1.5rem; font-weight: 600; }
main { max-width: 28rem; margin: 3rem auto; background: #fff; border: 1px solid #dde3ea; border-radius: 6px; padding: 1rem 1.25rem; }
form { display: grid; gap: 0.5rem; }
input { font: inherit; padding: 0.45rem 0.6rem; border: 1px solid #dde3ea; border-radius: 4px; }
button { font: inherit; border: 1px solid #3b6fd1; background: #2f62c4; color: #fff; border-radius: 4px; padding: 0.35rem 0.85rem; cursor: pointer; }
.muted { color: #5d6b7c; }
.error { color: #c62828; font-weight: 500; }
</style>
</head>
<body>
<header>Berth queues</header>
<main>
<h1 style="font-size: 1.1rem; margin-top: 0">Sign in</h1>
<p class="muted">The queue board is for administrators: enter an API token with the admin role. The browser keeps it in an HttpOnly cookie for this site until you sign out or close it.</p>
${notice}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label for="token">API token</label>
<input id="token" name="token" type="password" required spellcheck="false" autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}
