// Checks shared by the browser tests: accessibility (axe-core), layout at phone widths, the
// Content-Security-Policy, and the page's colours. Each returns what it found; the test asserts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** The fixed colours of sentiment labels (crates/tidewatch-api/assets/chart.js). */
export const LABEL_COLOURS = { negative: '#c8501a', neutral: '#767676', positive: '#00845f' };

/**
 * axe-core's violations on the page as it is now, one line each. axe is injected through the
 * DevTools protocol (page.evaluate), which the page's CSP does not govern, so the page keeps
 * its real policy while it is checked.
 */
export async function axeViolations(page) {
  if (!await page.evaluate(() => Boolean(window.axe))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${
      violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join(' | ')}`);
  });
}

/** How many CSS pixels the page is wider than its viewport (0 when it fits). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}

/**
 * Inserts an inline script and reports whether it ran and whether the browser reported a
 * script-src violation (waiting for that report, up to 10 s).
 */
export async function tryInlineScript(page) {
  return page.evaluate(() => new Promise((resolve) => {
    window.inlineScriptRan = false;
    let timer = null;
    const onViolation = (event) => {
      if (!String(event.violatedDirective).startsWith('script-src')) return;
      document.removeEventListener('securitypolicyviolation', onViolation);
      clearTimeout(timer);
      resolve({ ran: window.inlineScriptRan, reported: true });
    };
    document.addEventListener('securitypolicyviolation', onViolation);
    const script = document.createElement('script');
    script.textContent = 'window.inlineScriptRan = true;';
    document.body.append(script);
    script.remove();
    if (window.inlineScriptRan) resolve({ ran: true, reported: false });
    timer = setTimeout(() => resolve({ ran: window.inlineScriptRan, reported: false }), 10000);
  }));
}

/** The colour each legend entry of a chart block gives its series: { name: colour }. */
export async function legendColours(page, testid) {
  return page.getByTestId(testid).locator('xpath=..').locator('.legend li[data-series]').evaluateAll(
    (items) => Object.fromEntries(items.map((item) => [item.dataset.series, item.dataset.colour])));
}
