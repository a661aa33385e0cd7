// Collector health: each source's status (ok, failing, rate limited, silent), when it last
// succeeded, its last error and its posts in the last hour. Refreshes every 30 s.
import { api, el, scrollTable, when, number } from './app.js';

export function showHealth(view) {
  const output = el('div', { 'aria-live': 'polite' });
  view.append(el('h1', {}, 'Collectors'), output);
  async function load() {
    try {
      const body = await api('/api/v1/health/collectors');
      const rows = body.collectors || [];
      const problems = rows.filter((c) => c.status !== 'ok').length;
      output.replaceChildren(
        el('p', { 'data-testid': 'health-summary' },
          rows.length === 0 ? 'No collector has reported its health yet.' : `${rows.length} collectors, ${problems} need attention.`),
        scrollTable('Collectors', el('table', { 'data-testid': 'health-table' },
          el('thead', {}, el('tr', {}, ['Collector', 'Kind', 'Status', 'Last success', 'Last error', 'Posts last hour', 'Checked']
            .map((h) => el('th', { scope: 'col', class: h === 'Posts last hour' ? 'num' : null }, h)))),
          el('tbody', {}, rows.map((c) => el('tr', { 'data-testid': 'collector', 'data-status': c.status },
            el('th', { scope: 'row' }, c.name), el('td', {}, c.kind),
            el('td', {}, el('span', { class: `badge ${c.status}` }, c.status.replace('_', ' '))),
            el('td', {}, when(c.last_success_at)), el('td', {}, c.last_error || '–'),
            el('td', { class: 'num' }, number(c.posts_last_hour)), el('td', {}, when(c.checked_at))))))));
    } catch (error) {
      const message = error.status === 403
        ? 'Collector health is visible to admins only. Ask an admin for access.'
        : `Could not load collector health: ${error.message}`;
      output.replaceChildren(el('p', { class: error.status === 403 ? 'empty' : 'error', role: 'alert', 'data-testid': 'health-error' }, message));
    }
  }
  load();
  const timer = setInterval(load, 30000);
  return () => clearInterval(timer);
}
