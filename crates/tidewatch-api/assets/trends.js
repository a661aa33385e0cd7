// Trends for analysts: watch (and a second watch to compare with), source and language filters,
// interval and range, group by. Charts of posts, negative share and mean sentiment per group
// (empty buckets drawn as zero, the bucket still under way marked partial, fixed colours for
// labels and stable ones for watches), each watch's share of voice, the table of buckets
// exactly as GET /api/v1/trends returns them, and a CSV export of that very query
// (format=csv), so the file holds exactly the table's rows. The query the table shows is kept
// in the table's data-query attribute, so a test can ask the API for the very same numbers.
import { api, chartTable, el, number, percent, session } from './app.js';
import { fillBuckets, lineChart, seriesColour, stableColour, swatch } from './chart.js';
import { bucketLabel, zoneLabel } from './time.js';

const RANGES = [['1h', 1], ['6h', 6], ['24h', 24], ['7d', 168], ['30d', 720]];
const INTERVALS = [['1m', 60e3], ['5m', 300e3], ['15m', 900e3], ['1h', 3600e3], ['1d', 86400e3]];
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
  const compare = String(data.get('compare') || '');
  const watch = String(data.get('watch') || '');
  const params = new URLSearchParams({
    from: from.toISOString().replace('.000Z', 'Z'), to: to.toISOString().replace('.000Z', 'Z'),
    interval: data.get('interval'),
    // Comparing two watches is a comparison by watch.
    group_by: compare ? 'watch' : data.get('group_by'),
  });
  const watches = [watch, compare].filter(Boolean);
  if (watches.length) params.set('watch', [...new Set(watches)].join(','));
  for (const name of ['source', 'language']) {
    const value = String(data.get(name) || '').trim();
    if (value) params.set(name, value);
  }
  return params;
}

function cell(row, [key, , numeric], step) {
  const value = row[key];
  if (key.endsWith('_share')) return el('td', { class: 'num', 'data-key': key, 'data-value': value }, percent(value));
  if (key === 'mean_compound') return el('td', { class: 'num', 'data-key': key, 'data-value': value }, number(value, 3));
  if (key === 'bucket') return el('td', { 'data-key': key, 'data-value': value }, bucketLabel(Date.parse(value), step));
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

/** One chart of a measure per group, with its legend and its numbers. */
function measureChart(id, heading, groups, buckets, measure, options) {
  const { step, from, to, groupBy, format, fractional, yMin, yMax, fill } = options;
  const series = groups.map((group) => {
    const points = buckets.filter((b) => b.group === group && measure(b) !== null).map((b) => [Date.parse(b.bucket), measure(b)]);
    return { name: group, colour: seriesColour(groupBy, group), points: fill ? fillBuckets(points, { from, to, step }) : points };
  });
  const rows = series.flatMap((s) => s.points.map(([ms, value]) => ({
    group: s.name, bucket: bucketLabel(ms, step), value: format(value),
  })));
  return el('section', { class: 'chart-block', 'aria-labelledby': id },
    el('h2', { id }, heading),
    el('div', { 'data-testid': `${id}-chart` }, lineChart(series, {
      // A bucket is partial when the range ends inside it.
      title: `${heading} by ${groupBy}, times in ${zoneLabel()}`, yLabel: heading.toLowerCase(), step,
      now: to, format, fractional, yMin, yMax,
    })),
    el('ul', { class: 'legend' }, series.map((s) => el('li', { 'data-series': s.name, 'data-colour': s.colour }, swatch(s.colour), s.name)),
      el('li', {}, swatch('#767676', { dashed: true }), 'dashed: the bucket still under way')),
    chartTable(`${heading} by ${groupBy}`, [['group', groupBy, false], ['bucket', 'Bucket', false], ['value', heading, true]], rows, `${id}-numbers`));
}

function shareOfVoice(body) {
  const watches = body.watches || [];
  if (!watches.length) return el('p', { class: 'empty' }, 'No watched posts in this range.');
  return el('section', { class: 'chart-block', 'aria-labelledby': 'sov-title', 'data-testid': 'share-of-voice' },
    el('h2', { id: 'sov-title' }, 'Share of voice'),
    el('ul', { class: 'sov' }, watches.map((w) => el('li', { 'data-watch': w.watch, 'data-colour': stableColour(w.watch) },
      el('span', { class: 'sov-name' }, swatch(stableColour(w.watch)), w.watch),
      el('meter', { min: 0, max: 1, value: w.share, 'aria-label': `${w.watch} share of voice` }),
      el('span', { class: 'num' }, `${percent(w.share)} · ${number(w.posts)} posts · ${percent(w.negative_share)} negative`)))));
}

export function showTrends(view) {
  const watch = el('select', { id: 'trend-watch', name: 'watch', 'data-testid': 'trend-watch' }, el('option', { value: '' }, 'all watches'));
  const compare = el('select', { id: 'trend-compare', name: 'compare', 'data-testid': 'trend-compare' }, el('option', { value: '' }, 'no comparison'));
  const form = el('form', { class: 'toolbar', 'data-testid': 'trends-form', 'aria-label': 'Trend filters' },
    field('trend-watch', 'Watch', watch),
    field('trend-compare', 'Compare with', compare),
    field('trend-source', 'Source', el('input', { id: 'trend-source', name: 'source', size: 12, placeholder: 'any', 'data-testid': 'trend-source' })),
    field('trend-language', 'Language', el('input', { id: 'trend-language', name: 'language', size: 6, placeholder: 'any', 'data-testid': 'trend-language' })),
    field('trend-range', 'Range', el('select', { id: 'trend-range', name: 'range', 'data-testid': 'trend-range' },
      options(RANGES.map(([label, hours]) => [String(hours), `last ${label}`]), '24'))),
    field('trend-interval', 'Interval', el('select', { id: 'trend-interval', name: 'interval', 'data-testid': 'trend-interval' },
      options(INTERVALS.map(([i]) => [i, i]), '1h'))),
    field('trend-group', 'Group by', el('select', { id: 'trend-group', name: 'group_by', 'data-testid': 'trend-group' },
      options(GROUPS.map((g) => [g, g]), 'watch'))),
    el('button', { type: 'submit', 'data-testid': 'trend-apply' }, 'Show'));
  const output = el('div', { 'aria-live': 'polite' });
  const exportLink = el('a', { href: '#', 'data-testid': 'csv-export', hidden: true }, 'Export the table as CSV');
  view.append(el('h1', {}, 'Trends'), form, el('p', {}, exportLink), output);

  api('/api/v1/watches').then((body) => {
    for (const name of body.watches || []) {
      watch.append(el('option', { value: name }, name));
      compare.append(el('option', { value: name }, name));
    }
  }).catch(() => { /* the filters still work as "all watches" */ });

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
      const voiceParams = new URLSearchParams([...params].filter(([key]) => ['from', 'to', 'source', 'language'].includes(key)));
      const [body, voice] = await Promise.all([
        api(`/api/v1/trends?${params}`),
        api(`/api/v1/share-of-voice?${voiceParams}`).catch(() => ({ watches: [] })),
      ]);
      if (ticket !== latestLoad) return;
      current = params;
      exportLink.hidden = false;
      exportLink.href = `/api/v1/trends?${params}&format=csv`;
      const step = (INTERVALS.find(([name]) => name === body.interval) || [null, 0])[1];
      const from = Date.parse(params.get('from'));
      const to = Date.parse(params.get('to'));
      const groups = [...new Set(body.buckets.map((b) => b.group))].sort();
      const groupBy = body.group_by;
      const common = { step, from, to, groupBy };
      const charts = [measureChart('trend-posts', 'Posts', groups, body.buckets, (b) => b.posts,
        { ...common, format: (v) => number(v), fill: true })];
      // Shares and means per sentiment label say nothing (a label's share of itself is 1).
      if (groupBy !== 'label') {
        charts.push(
          measureChart('trend-negative', 'Negative share', groups, body.buckets, (b) => b.negative_share,
            { ...common, format: (v) => percent(v), fractional: true }),
          measureChart('trend-sentiment', 'Mean sentiment', groups, body.buckets, (b) => b.mean_compound ?? null,
            { ...common, format: (v) => number(v, 2), yMin: -1, yMax: 1 }));
      }
      const table = el('table', { 'data-testid': 'trends-table', 'data-query': params.toString() },
        el('caption', {}, `${body.buckets.length} buckets of ${body.interval}, grouped by ${body.group_by}, times in ${zoneLabel()}`),
        el('thead', {}, el('tr', {}, COLUMNS.map(([, label, numeric]) => el('th', { scope: 'col', class: numeric ? 'num' : null }, label)))),
        el('tbody', {}, body.buckets.map((row) => el('tr', { 'data-testid': 'trend-row' }, COLUMNS.map((column) => cell(row, column, step))))));
      const firstBucket = body.buckets.length ? Math.min(...body.buckets.map((b) => Date.parse(b.bucket))) : null;
      const startsLate = firstBucket !== null && firstBucket - from > Math.max(step, 3600e3);
      output.replaceChildren(...[
        startsLate ? el('p', { class: 'note', 'data-testid': 'range-before-data' },
          `The first posts in this range are from ${bucketLabel(firstBucket, step)}; nothing was stored before that.`) : null,
        ...(body.buckets.length ? charts : []),
        shareOfVoice(voice),
        el('h2', {}, 'Buckets'),
        body.buckets.length
          ? el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Trend buckets' }, table)
          : el('p', { class: 'empty', 'data-testid': 'trends-empty' }, 'No posts in this range for these filters.'),
      ].filter(Boolean));
      if (!body.buckets.length) output.append(table);
    } catch (error) {
      if (ticket !== latestLoad) return;
      output.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load trends: ${error.message}`));
    }
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  if (session.token) load();
}
