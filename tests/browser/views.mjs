// The dashboard's views as a person sees them, after dashboard.test.mjs has found a live story:
// the alert stream opens with a ticket (the token is never in a URL); the page refuses inline
// scripts (CSP) and sends its security headers; a `javascript:` post URL never becomes a link;
// chart colours are fixed by meaning (labels) and stable by name (watches); the bucket still
// under way is marked partial; times carry their zone and the user's zone choice is remembered;
// the story chart shows the watch's usual volume; every view passes axe-core with no violation
// and fits a 360 px phone.
import { LABEL_COLOURS, axeViolations, horizontalOverflow, legendColours, tryInlineScript } from './checks.mjs';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 900 };

/** `ctx`: { step, assert, until, shot, apiCall, base, page, token, storyId, requests }. */
export async function viewSteps(ctx) {
  const { step, assert, until, shot, apiCall, base, page, token, storyId, requests } = ctx;
  const storyPath = `/api/v1/stories/${encodeURIComponent(storyId)}`;
  // A full page load every time (a new query string): going to the URL the page is already at,
  // or changing only its hash, would not reload it.
  let loads = 0;
  const visit = (hash) => page.goto(`${base}/?load=${++loads}${hash}`);

  await step('the alert stream opens with a ticket; no URL ever carries the token', async () => {
    const streams = requests.filter((url) => new URL(url).pathname === '/api/v1/alerts/stream');
    assert(streams.length > 0, 'the feed opened the stream');
    for (const url of streams) assert(new URL(url).searchParams.has('ticket'), `stream URL without a ticket: ${url}`);
    const leaked = requests.filter((url) => url.includes(token) || new URL(url).searchParams.has('token'));
    assert(leaked.length === 0, `URLs carrying the token: ${leaked.join(', ')}`);
  });

  await step('the page refuses inline scripts (CSP) and sends its security headers', async () => {
    const response = await visit('#/alerts');
    const headers = response.headers();
    const csp = headers['content-security-policy'] || '';
    assert(/script-src 'self'/.test(csp) && !csp.includes('unsafe-inline'), `CSP: ${csp}`);
    assert(csp.includes("frame-ancestors 'none'"), `CSP forbids framing: ${csp}`);
    assert(headers['x-content-type-options'] === 'nosniff', 'nosniff');
    assert(headers['referrer-policy'] === 'no-referrer', 'referrer policy');
    assert(headers['x-frame-options'] === 'DENY', 'frame denial');
    await page.getByTestId('alert-feed').waitFor({ timeout: 15000 });
    const outcome = await tryInlineScript(page);
    assert(!outcome.ran, 'an inline script ran');
    assert(outcome.reported, 'the browser reported no CSP violation for the inline script');
    const icon = await apiCall('/favicon.ico', token);
    assert(icon.status === 200, `favicon answered ${icon.status}`);
  });

  await step('a javascript: URL from a feed never becomes a link', async () => {
    const hostile = 'javascript:document.title="owned"';
    await page.route((url) => url.pathname === storyPath, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      for (const post of [body.first_post, ...(body.top_posts || [])]) if (post) post.url = hostile;
      if (body.top_posts?.length) body.top_posts[0].url = 'JaVaScRiPt:alert(1)';
      await route.fulfill({ response, json: body });
    });
    try {
      await visit(`#/stories/${encodeURIComponent(storyId)}`);
      await page.getByTestId('story-title').waitFor({ timeout: 15000 });
      const scriptLinks = await page.locator('a').evaluateAll((links) => links
        .map((link) => link.getAttribute('href') || '').filter((href) => !/^(https?:|#|\/|blob:)/i.test(href.trim())));
      assert(scriptLinks.length === 0, `non-web links on the page: ${scriptLinks.join(', ')}`);
      assert(await page.getByTestId('post-link').count() === 0, 'no post link for script URLs');
    } finally {
      await page.unrouteAll({ behavior: 'ignoreErrors' });
    }
  });

  await step('the story chart shows the watch\'s usual volume and every bucket\'s numbers', async () => {
    await visit(`#/stories/${encodeURIComponent(storyId)}`);
    const chart = page.getByTestId('story-chart').locator('svg');
    await chart.waitFor({ timeout: 15000 });
    const api = (await apiCall(storyPath, token)).json;
    const drawn = await chart.locator('[data-series="posts"] rect').evaluateAll((bars) => bars.map((bar) => Number(bar.dataset.posts)));
    const apiTotal = api.timeline.reduce((sum, bucket) => sum + bucket.posts, 0);
    assert(drawn.reduce((a, b) => a + b, 0) === apiTotal, `bars total ${drawn} vs API ${apiTotal}`);
    assert(await chart.locator('[data-series="usual"]').count() === 1, 'the usual volume line');
    assert(await chart.locator('[data-series="watch_posts"] rect').count() > 0, 'the watch\'s posts behind the bars');
    const rows = await page.getByTestId('story-chart-numbers').locator('tbody tr').count();
    assert(rows === drawn.length, `the chart's table has ${rows} rows for ${drawn.length} bars`);
    await shot(page, '08-story-context');
  });

  await step('chart colours: fixed for sentiment labels, stable for watches; the partial bucket', async () => {
    await visit('#/trends');
    await page.getByTestId('trend-group').selectOption('label');
    await page.getByTestId('trend-apply').click();
    await until('the chart by label', async () => (await page.getByTestId('trends-table').getAttribute('data-query'))?.includes('group_by=label'), 15000, 100);
    const byLabel = await legendColours(page, 'trend-posts-chart');
    assert(Object.keys(byLabel).length > 0, 'labels in the legend');
    for (const [label, colour] of Object.entries(byLabel)) assert(colour === LABEL_COLOURS[label], `${label} drawn ${colour}`);
    await page.getByTestId('trend-group').selectOption('watch');
    await page.getByTestId('trend-apply').click();
    await until('the chart by watch', async () => (await page.getByTestId('trends-table').getAttribute('data-query'))?.includes('group_by=watch'), 15000, 100);
    const byWatch = await legendColours(page, 'trend-posts-chart');
    const negative = await legendColours(page, 'trend-negative-chart');
    const voice = await page.getByTestId('share-of-voice').locator('li[data-watch]').evaluateAll(
      (items) => Object.fromEntries(items.map((item) => [item.dataset.watch, item.dataset.colour])));
    for (const [watch, colour] of Object.entries(byWatch)) {
      assert(negative[watch] === colour && voice[watch] === colour, `${watch}: ${colour}, ${negative[watch]}, ${voice[watch]}`);
    }
    const query = new URLSearchParams(await page.getByTestId('trends-table').getAttribute('data-query'));
    const to = Date.parse(query.get('to'));
    const step = { '1m': 60e3, '5m': 300e3, '15m': 900e3, '1h': 3600e3, '1d': 86400e3 }[query.get('interval')];
    const partial = await page.getByTestId('trend-posts-chart').locator('[data-partial="true"]').count();
    if (to % step !== 0) assert(partial > 0, 'the bucket the range ends in is marked partial');
    else assert(partial === 0, 'no bucket is partial when the range ends on a bucket boundary');
    await shot(page, '09-trends-colours');
  });

  await step('times carry their zone; the zone chosen is remembered', async () => {
    await page.getByTestId('zone-select').selectOption('UTC');
    assert(await page.getByTestId('zone-label').textContent() === 'UTC', 'zone label says UTC');
    await page.getByTestId('trends-table').waitFor({ timeout: 15000 });
    const axisZone = await page.getByTestId('trend-posts-chart').getByTestId('chart-zone').textContent();
    assert(axisZone.includes('UTC'), `the axis says ${axisZone}`);
    await page.reload();
    await page.getByTestId('whoami').waitFor({ timeout: 15000 });
    assert(await page.getByTestId('zone-select').inputValue() === 'UTC', 'UTC remembered after a reload');
    await page.getByTestId('zone-select').selectOption('America/New_York');
    const label = await page.getByTestId('zone-label').textContent();
    assert(label.startsWith('America/New_York (E'), `zone label ${label}`);
    await visit(`#/stories/${encodeURIComponent(storyId)}`);
    const caption = await page.getByTestId('story-history').locator('caption').textContent({ timeout: 15000 });
    assert(caption.includes('America/New_York'), `history caption ${caption}`);
    await page.getByTestId('zone-select').selectOption('browser');
  });

  await step('every view passes axe-core and fits a phone', async () => {
    const views = [['alerts', '#/alerts', 'alert-feed'], ['story', `#/stories/${encodeURIComponent(storyId)}`, 'story-chart'],
      ['trends', '#/trends', 'trends-table'], ['health', '#/health', null]];
    const problems = [];
    for (const size of [DESKTOP, PHONE]) {
      await page.setViewportSize(size);
      for (const [name, hash, ready] of views) {
        await visit(hash);
        await page.locator(ready ? `[data-testid="${ready}"]` : '[data-testid="health-table"], [data-testid="health-error"]').first().waitFor({ timeout: 15000 });
        for (const violation of await axeViolations(page)) problems.push(`${name} at ${size.width} px: ${violation}`);
        const overflow = await horizontalOverflow(page);
        if (overflow > 0) problems.push(`${name} at ${size.width} px is ${overflow} px wider than the screen`);
      }
    }
    await page.setViewportSize(DESKTOP);
    assert(problems.length === 0, problems.join('\n'));
  });
}
