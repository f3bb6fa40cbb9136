import { type CreateHostResponse, type CreateTokenResponse } from '@berth/contracts';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import request from 'supertest';
import { enrolledHost, triggerBackup } from './support/agent-client';
import { ADMIN_TOKEN, type ControllerHarness, startController } from './support/controller-app';
import { seedBackup, seedFailedBackup } from './support/report-fleet';

jest.setTimeout(120_000);

const MIB = 1024 * 1024;
/** Debian's chromium (apt-get install chromium; .ci/run installs it); BERTH_CHROMIUM points elsewhere. */
const CHROMIUM = process.env['BERTH_CHROMIUM'] ?? '/usr/bin/chromium';
/** Where the screenshot is kept for a human to look at (the .berth/ directory is git-ignored). */
const SCREENSHOT = resolve(__dirname, '../../../.berth/screenshots/status-page.png');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('status page', () => {
  let controller: ControllerHarness;
  let baseUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    controller = await startController({ BERTH_RPO_HOURS: '24' });
    await controller.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(controller.app.getHttpServer() as { address(): AddressInfo }).address().port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
    await controller?.close();
  });

  it('serves a public shell with no data, its script and stylesheet, under a strict content security policy', async () => {
    const page = await request(controller.http).get('/status').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.text).toContain('<script defer src="/status/status.js"></script>');
    expect(page.text).not.toContain('<script>');
    const script = await request(controller.http).get('/status/status.js').expect(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.text).toContain("'/reports/fleet'");
    expect((await request(controller.http).get('/status/status.css').expect(200)).headers['content-type']).toBe('text/css; charset=utf-8');
    // The data behind it still needs a token.
    await request(controller.http).get('/reports/fleet').expect(401);
  });

  it('signs in with an API token, shows the seeded fleet with statuses and totals, and charts a host history', async () => {
    // Healthy with four backups (one run in between failed), breaching (30 h old), failing (last run failed), never backed up.
    const healthy = await enrolledHost(controller, 'web');
    const healthyRuns = [];
    for (const [hoursAgo, size] of [
      [30, 40],
      [20, 42],
      [10, 45],
    ] as const) {
      healthyRuns.push(await seedBackup(controller, healthy, { publishedHoursAgo: hoursAgo, files: 1000, bytes: size * MIB, bytesSent: 3 * MIB, bytesStored: 2 * MIB, durationSeconds: 20 + hoursAgo }));
    }
    await seedFailedBackup(controller, healthy, 'receiver_unavailable: connection refused');
    healthyRuns.push(await seedBackup(controller, healthy, { publishedHoursAgo: 2, files: 1100, bytes: 48 * MIB, bytesSent: 5 * MIB, bytesStored: 4 * MIB, durationSeconds: 25 }));
    const stale = await enrolledHost(controller, 'db');
    await seedBackup(controller, stale, { publishedHoursAgo: 30, files: 5, bytes: 5 * MIB, bytesSent: 5 * MIB, bytesStored: 5 * MIB, durationSeconds: 10 });
    const failing = await enrolledHost(controller, 'mail');
    await seedBackup(controller, failing, { publishedHoursAgo: 3, files: 7, bytes: 7 * MIB, bytesSent: 7 * MIB, bytesStored: 7 * MIB, durationSeconds: 7 });
    await seedFailedBackup(controller, failing, 'paths_missing: /srv does not exist');
    const neverName = controller.hostName('new');
    const never = (await controller.api.post('/hosts').send({ name: neverName, paths: ['/srv'] }).expect(201)).body as CreateHostResponse;
    expect(never.host.name).toBe(neverName);

    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    const offSite: string[] = [];
    page.on('request', (sent) => {
      if (!sent.url().startsWith(baseUrl)) offSite.push(sent.url());
    });

    await page.goto(`${baseUrl}/status`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });

    // A wrong token is refused and the form stays.
    await page.fill('#token', 'bt_this-token-does-not-exist');
    await page.click('#sign-in button[type=submit]');
    await page.locator('#sign-in-error').waitFor({ state: 'visible' });
    expect(await page.textContent('#sign-in-error')).toContain('did not accept this token');

    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#sign-in button[type=submit]');
    await page.locator(`tr[data-host="${neverName}"]`).waitFor();

    expect(await rowStatus(page, healthy.hostName)).toEqual({ status: 'ok', text: 'OK' });
    expect(await rowStatus(page, stale.hostName)).toEqual({ status: 'breaching', text: 'RPO breached' });
    expect(await rowStatus(page, failing.hostName)).toEqual({ status: 'failed', text: 'Last run failed' });
    expect(await rowStatus(page, neverName)).toEqual({ status: 'never', text: 'Never backed up' });
    // Problems first: the never-backed-up and failed hosts lead the table.
    const rows = page.locator('#hosts tbody tr');
    const order = await Promise.all(Array.from({ length: await rows.count() }, (_, index) => rows.nth(index).getAttribute('data-status')));
    expect(order).toEqual(['never', 'failed', 'breaching', 'ok']);
    // Ages in human units, the failure's reason, fleet totals.
    expect(await page.textContent(`tr[data-host="${healthy.hostName}"]`)).toContain('2 h ago');
    expect(await page.textContent(`tr[data-host="${stale.hostName}"]`)).toContain('1 d 6 h ago');
    expect(await page.textContent(`tr[data-host="${failing.hostName}"]`)).toContain('paths_missing: /srv does not exist');
    expect(await page.locator('#totals .total').allTextContents()).toEqual(
      expect.arrayContaining(['4hosts', '2within RPO (24 h)', '2breaching RPO', '1never backed up', '1last run failed', '6snapshots']),
    );

    // The history of the healthy host: a point per finished run on each chart (the failed run sits at zero size).
    await page.click(`tr[data-host="${healthy.hostName}"]`);
    await page.locator(`#history[data-host="${healthy.hostName}"]`).waitFor();
    await page.locator('#chart-size svg circle.point').nth(4).waitFor();
    expect(await page.locator('#chart-size svg circle.point').count()).toBe(5);
    expect(await page.locator('#chart-size svg circle.point.bad').count()).toBe(1);
    expect(await page.locator('#chart-duration svg circle.point').count()).toBe(5);
    expect(await page.locator('#chart-size svg polyline.series').getAttribute('points')).toMatch(/^(\d+\.\d,\d+\.\d ){4}\d+\.\d,\d+\.\d$/);
    const newest = healthyRuns[healthyRuns.length - 1];
    expect(await page.locator(`#chart-size svg circle[data-run="${newest?.id ?? ''}"] title`).textContent()).toContain('48 MiB');

    rmSync(SCREENSHOT, { force: true });
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = readFileSync(SCREENSHOT);
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);

    expect(consoleErrors.filter((text) => !text.includes('401'))).toEqual([]);
    expect(offSite).toEqual([]);

    // Signing out forgets the token: a reload asks again.
    await page.click('#sign-out');
    await page.reload();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    // A string expression: the test's TypeScript has no DOM types.
    expect(await page.evaluate("sessionStorage.getItem('berth.apiToken')")).toBeNull();

    // A viewer token is enough to read the page.
    const viewer = (await controller.api.post('/tokens').send({ name: `status-viewer-${neverName}`, role: 'viewer' }).expect(201)).body as CreateTokenResponse;
    await page.fill('#token', viewer.token);
    await page.click('#sign-in button[type=submit]');
    await page.locator(`tr[data-host="${healthy.hostName}"][data-status="ok"]`).waitFor();
    await page.close();
  });

  it('opens Bull Board for an admin through its sign-in form, offline, with the host queues listed', async () => {
    const agent = await enrolledHost(controller, 'queued');
    await triggerBackup(controller, agent);
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const offSite: string[] = [];
    page.on('request', (sent) => {
      if (!sent.url().startsWith(baseUrl)) offSite.push(sent.url());
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const signIn = await page.goto(`${baseUrl}/queues`);
    expect(signIn?.status()).toBe(401);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.getByText(`host ${agent.hostName}`).first().waitFor();
    expect(page.url()).toBe(`${baseUrl}/queues/`);
    const cookie = (await page.context().cookies()).find((entry) => entry.name === 'berth_token');
    expect(cookie).toMatchObject({ value: ADMIN_TOKEN, httpOnly: true, sameSite: 'Strict', path: '/' });
    await page.screenshot({ path: join(SCREENSHOT, '..', 'queues.png'), fullPage: true });
    // The board's own actions work from its page (same origin, the cookie sent along): resuming a running queue.
    const queueName = encodeURIComponent(`host.${agent.hostId}`);
    expect(await page.evaluate(`fetch('/queues/api/queues/${queueName}/resume', { method: 'PUT' }).then((answer) => answer.status)`)).toBe(200);

    expect(pageErrors).toEqual([]);
    // Only the Google Fonts stylesheet is asked for, and the content security policy blocks it.
    expect(offSite.every((url) => url.startsWith('https://fonts.googleapis.com/'))).toBe(true);
    await page.close();
  });
});

async function rowStatus(page: Page, hostName: string): Promise<{ status: string | null; text: string | null }> {
  const row = page.locator(`tr[data-host="${hostName}"]`);
  return { status: await row.getAttribute('data-status'), text: await row.locator('td[data-cell=status] .pill').textContent() };
}
