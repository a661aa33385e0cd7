// Screenshots of every dashboard view at desktop (1280 px) and phone (390 px) sizes, for the
// README: docs/screenshots/<view>-<size>.png. Run by tests/browser/screenshots.sh against a
// running `tidewatch demo` whose story has fired:
//   TIDEWATCH_URL=http://127.0.0.1:19800 TIDEWATCH_ADMIN_TOKEN=… node tests/browser/screenshots.mjs
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const base = (process.env.TIDEWATCH_URL || '').replace(/\/$/, '');
const token = process.env.TIDEWATCH_ADMIN_TOKEN;
if (!base || !token) {
  console.error('set TIDEWATCH_URL and TIDEWATCH_ADMIN_TOKEN');
  process.exit(2);
}

const alerts = await (await fetch(`${base}/api/v1/alerts?status=open,acknowledged,snoozed&limit=1`, {
  headers: { Authorization: `Bearer ${token}` },
})).json();
const storyId = alerts.alerts?.[0]?.story_id;
if (!storyId) {
  console.error('no alert yet: wait for the demo story to fire');
  process.exit(1);
}

const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };
const VIEWS = [
  ['feed', '#/alerts', '[data-testid="alert"]'],
  ['story', `#/stories/${encodeURIComponent(storyId)}`, '[data-testid="story-chart"] svg'],
  ['trends', '#/trends', '[data-testid="trends-table"]'],
  ['collectors', '#/health', '[data-testid="health-table"], [data-testid="health-error"]'],
];

const profile = mkdtempSync(join(tmpdir(), 'tidewatch-shots-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true, locale: 'en-US', timezoneId: 'UTC', viewport: SIZES.desktop,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.screenshot({ path: join(out, 'sign-in-desktop.png') });
  await page.getByLabel('API token').fill(token);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('whoami').filter({ hasText: '(admin)' }).waitFor({ timeout: 15000 });
  for (const [sizeName, size] of Object.entries(SIZES)) {
    await page.setViewportSize(size);
    for (const [name, hash, ready] of VIEWS) {
      await page.goto(`${base}/${hash}`);
      await page.locator(ready).first().waitFor({ timeout: 20000 });
      // The stream's status settles and the fresh-card highlight ends before the picture.
      await page.locator('[data-testid="stream-status"][data-state="live"], body:not(:has([data-testid="stream-status"]))').first().waitFor({ timeout: 15000 });
      await page.evaluate(() => document.querySelectorAll('.fresh').forEach((node) => node.classList.remove('fresh')));
      const path = join(out, `${name}-${sizeName}.png`);
      await page.screenshot({ path, fullPage: sizeName === 'phone' });
      console.log(`wrote ${path}`);
    }
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
