import { escapeHtml, signInPage } from './queue-board.pages';

describe('queue board sign-in page', () => {
  it('escapes markup in what it shows', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    const page = signInPage('/queues/sign-in', 'bad <b>token</b>');
    expect(page).toContain('<p class="error" role="alert">bad &lt;b&gt;token&lt;/b&gt;</p>');
    expect(page).not.toContain('<b>');
  });

  it('posts the token field to the given action and has no script', () => {
    const page = signInPage('/queues/sign-in', null);
    expect(page).toContain('<form method="post" action="/queues/sign-in"');
    expect(page).toContain('<input id="token" name="token" type="password"');
    expect(page).not.toContain('role="alert"');
    expect(page).not.toMatch(/<script/i);
  });
});
