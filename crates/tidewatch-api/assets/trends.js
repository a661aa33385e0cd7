// Trends for analysts: watch / source / language filters, interval and range, group by; a line
// chart of posts per group, the table of buckets exactly as GET /api/v1/trends returns them,
// and a CSV export of the same query (format=csv). The query the table shows is kept in the
// table's data-query attribute, so a test can ask the API for the very same numbers.
import { api, el, number, percent, session } from './app.js';
import { lineChart, PALETTE } from './chart.js';

const RANGES = [['1h', 1], ['6h', 6], ['24h', 24], ['7d', 168], ['30d', 720]];
const INTERVALS = ['1m', '5m', '15m', '1h', '1d'];
const GROUPS = ['watch', 'source', 'language', 'label'];
const COLUMNS = [
  ['bucket', 'Bucket', false], ['group', 'Group', false], ['posts', 'Posts', true],
  ['negative', 'Negative', true], ['neutral', 'Neutral', true], ['positive', 'Positive', true],
  ['negative_share', 'Negative share', true], ['mean_compound', 'Mean compound', true],
  ['distinct_authors', 'Authors', true],
];

function field(id, label, control) {
  return el('div', {}, el('label', { for: id }, label), control);
}

function options(values, selected) {
  return values.map(([value, label]) => el('option', { value, selected: value === selected }, label));
}

function query(form) {
  const data = new FormData(form);
  const hours = Number(data.get('range'));
  const to = new Date();
  to.setUTCSeconds(0, 0);
  const from = new Date(to.getTime() - hours * 3600e3);
  const params = new URLSearchParams({
    from: from.toISOString().replace('.000Z', 'Z'), to: to.toISOString().replace('.000Z', 'Z'),
    interval: data.get('interval'), group_by: data.get('group_by'),
  });
  for (const name of ['watch', 'source', 'language']) {
    const value = String(data.get(name) || '').trim();
    if (value) params.set(name, value);
  }
  return params;
}

function cell(row, [key, , numeric]) {
  const value = row[key];
  if (key.endsWith('_share')) return el('td', { class: 'num', 'data-key': key, 'data-value': value }, percent(value));
  if (key === 'mean_compound') return el('td', { class: 'num', 'data-key': key, 'data-value': value }, number(value, 3));
  if (key === 'bucket') return el('td', { 'data-key': key, 'data-value': value }, new Date(value).toLocaleString());
  return el('td', { class: numeric ? 'num' : null, 'data-key': key, 'data-value': value }, numeric ? number(value) : value);
}

async function download(params) {
  const csv = await api(`/api/v1/trends?${params}&format=csv`, { raw: true });
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const link = el('a', { href: url, download: `tidewatch-trends-${params.get('from')}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function showTrends(view) {
  const watch = el('select', { id: 'trend-watch', name: 'watch', 'data-testid': 'trend-watch' }, el('option', { value: '' }, 'all watches'));
  const form = el('form', { class: 'toolbar', 'data-testid': 'trends-form', 'aria-label': 'Trend filters' },
    field('trend-watch', 'Watch', watch),
    field('trend-source', 'Source', el('input', { id: 'trend-source', name: 'source', size: 12, placeholder: 'any', 'data-testid': 'trend-source' })),
    field('trend-language', 'Language', el('input', { id: 'trend-language', name: 'language', size: 6, placeholder: 'any', 'data-testid': 'trend-language' })),
    field('trend-range', 'Range', el('select', { id: 'trend-range', name: 'range', 'data-testid': 'trend-range' },
      options(RANGES.map(([label, hours]) => [String(hours), `last ${label}`]), '24'))),
    field('trend-interval', 'Interval', el('select', { id: 'trend-interval', name: 'interval', 'data-testid': 'trend-interval' },
      options(INTERVALS.map((i) => [i, i]), '1h'))),
    field('trend-group', 'Group by', el('select', { id: 'trend-group', name: 'group_by', 'data-testid': 'trend-group' },
      options(GROUPS.map((g) => [g, g]), 'watch'))),
    el('button', { type: 'submit', 'data-testid': 'trend-apply' }, 'Show'));
  const output = el('div', { 'aria-live': 'polite' });
  const exportLink = el('a', { href: '#', 'data-testid': 'csv-export', hidden: true }, 'Export CSV');
  view.append(el('h1', {}, 'Trends'), form, el('p', {}, exportLink), output);

  api('/api/v1/watches').then((body) => {
    for (const name of body.watches || []) watch.append(el('option', { value: name }, name));
  }).catch(() => { /* the filter still works as "all watches" */ });

  let current = null;
  exportLink.addEventListener('click', (event) => {
    event.preventDefault();
    if (current) download(current).catch((error) => output.prepend(el('p', { class: 'error', role: 'alert' }, `Export failed: ${error.message}`)));
  });

  // Why a ticket: the first load (the default range) may answer after a load the analyst asked
  // for later; only the answer to the latest query may be shown.
  let latestLoad = 0;
  async function load() {
    const params = query(form);
    const ticket = ++latestLoad;
    output.replaceChildren(el('p', { role: 'status' }, 'Loading…'));
    try {
      const body = await api(`/api/v1/trends?${params}`);
      if (ticket !== latestLoad) return;
      current = params;
      exportLink.hidden = false;
      exportLink.href = `/api/v1/trends?${params}&format=csv`;
      const groups = [...new Set(body.buckets.map((b) => b.group))];
      const series = groups.map((group) => ({
        name: group,
        points: body.buckets.filter((b) => b.group === group).map((b) => [Date.parse(b.bucket), b.posts]),
      }));
      const table = el('table', { 'data-testid': 'trends-table', 'data-query': params.toString() },
        el('caption', {}, `${body.buckets.length} buckets of ${body.interval}, grouped by ${body.group_by}`),
        el('thead', {}, el('tr', {}, COLUMNS.map(([, label, numeric]) => el('th', { scope: 'col', class: numeric ? 'num' : null }, label)))),
        el('tbody', {}, body.buckets.map((row) => el('tr', { 'data-testid': 'trend-row' }, COLUMNS.map((column) => cell(row, column))))));
      output.replaceChildren(
        el('div', { 'data-testid': 'trends-chart' }, lineChart(series, { title: `Posts per ${body.interval} by ${body.group_by}`, yLabel: 'posts' })),
        el('ul', { class: 'legend' }, groups.map((g, i) => el('li', {}, el('span', { style: `background:${PALETTE[i % PALETTE.length]}` }), g))),
        body.buckets.length ? el('div', { class: 'table-wrap' }, table) : el('p', { class: 'empty', 'data-testid': 'trends-empty' }, 'No posts in this range.'),
      );
      if (!body.buckets.length) output.append(table);
    } catch (error) {
      if (ticket !== latestLoad) return;
      output.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load trends: ${error.message}`));
    }
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  if (session.token) load();
}
