// Small inline-SVG charts drawn from data: a multi-series line chart and a bars + line chart.
// Each chart is an <svg role="img"> with a <title> and <desc> that say what it shows.
const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#0b5cad', '#a4161a', '#1e6b37', '#8a4b00', '#6a3d9a', '#00707a', '#5a5a5a', '#b3367a'];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(title, description, width, height) {
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart', 'aria-labelledby': '',
  });
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  root.append(svg('title', { id: `${id}-t` }, title), svg('desc', { id: `${id}-d` }, description));
  root.setAttribute('aria-labelledby', `${id}-t ${id}-d`);
  return root;
}

function timeLabel(ms, spanMs) {
  const date = new Date(ms);
  if (spanMs > 3 * 86400e3) return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  if (spanMs < 10 * 60e3) return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/**
 * The top of a count axis: four round steps that cover `max`, each 1, 2, 2.5 or 5 × 10^k and a
 * whole number (2.5 only from 25 up, so the labels stay exact).
 */
export function niceTop(max) {
  const raw = Math.max(1, max) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const multiples = power >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
  const step = multiples.map((multiple) => multiple * power).find((candidate) => candidate >= raw);
  return Math.max(1, step) * 4;
}

/**
 * Grid, count labels (left), optional share labels (right) and time labels under `xOf`'s
 * positions. A chart of one instant gets one time label; a label equal to the one before it
 * is left out, so a short span never shows the same time five times.
 */
function axes(root, box, xMin, xMax, xOf, yMax, right) {
  const { left, top, width, height } = box;
  root.append(svg('line', { x1: left, y1: top + height, x2: left + width, y2: top + height, stroke: '#8a94a0' }));
  for (let i = 0; i <= 4; i += 1) {
    const y = top + height - (i / 4) * height;
    root.append(svg('line', { x1: left, y1: y, x2: left + width, y2: y, stroke: '#e4e8ec' }));
    root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, String(Math.round((i / 4) * yMax))));
    if (right) root.append(svg('text', { x: left + width + 6, y: y + 4 }, right(i / 4)));
  }
  const span = xMax - xMin;
  const ticks = span === 0 ? [xMin] : [0, 1, 2, 3, 4].map((i) => xMin + (i / 4) * span);
  let previous = null;
  for (const ms of ticks) {
    const label = timeLabel(ms, span);
    if (label === previous) continue;
    previous = label;
    const x = xOf(ms);
    const anchor = x <= left + 1 ? 'start' : x >= left + width - 1 ? 'end' : 'middle';
    root.append(svg('text', { x: x.toFixed(1), y: top + height + 16, 'text-anchor': anchor, 'data-tick': 'time' }, label));
  }
}

/** Lines, one per series: `series` = [{ name, points: [[ms, value], …] }]. */
export function lineChart(series, { title, yLabel = '', width = 900, height = 280 } = {}) {
  const all = series.flatMap((s) => s.points);
  const description = `${series.length} series, ${all.length} points of ${yLabel}`;
  const root = frame(title, description, width, height);
  root.dataset.points = String(all.length);
  if (all.length === 0) return root;
  const box = { left: 56, top: 12, width: width - 76, height: height - 42 };
  const xMin = Math.min(...all.map((p) => p[0]));
  const xMax = Math.max(...all.map((p) => p[0]));
  const yMax = niceTop(Math.max(...all.map((p) => p[1])));
  const x = (ms) => box.left + ((ms - xMin) / Math.max(1, xMax - xMin)) * box.width;
  axes(root, box, xMin, xMax, x, yMax);
  const y = (v) => box.top + box.height - (v / yMax) * box.height;
  series.forEach((s, index) => {
    const color = PALETTE[index % PALETTE.length];
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    const group = svg('g', { 'data-series': s.name });
    group.append(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 2 }));
    for (const p of points) {
      group.append(svg('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2.5, fill: color }));
    }
    root.append(group);
  });
  return root;
}

/** Volume as bars (left axis) and a share 0–1 as a line (right axis, percent). */
export function barsAndShare(points, { title, width = 900, height = 260 } = {}) {
  const description = `${points.length} time buckets: posts per bucket as bars, negative share as a line`;
  const root = frame(title, description, width, height);
  root.dataset.points = String(points.length);
  if (points.length === 0) return root;
  const box = { left: 48, top: 12, width: width - 100, height: height - 42 };
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const xMin = sorted[0].at;
  const xMax = sorted[sorted.length - 1].at;
  const yMax = niceTop(Math.max(...sorted.map((p) => p.posts)));
  const slot = box.width / Math.max(1, sorted.length);
  const x = (ms) => box.left + ((ms - xMin) / Math.max(1, xMax - xMin)) * (box.width - slot) + slot / 2;
  axes(root, box, xMin, xMax, x, yMax, (f) => `${Math.round(f * 100)}%`);
  const bars = svg('g', { 'data-series': 'posts' });
  for (const p of sorted) {
    const h = (p.posts / yMax) * box.height;
    const bar = svg('rect', {
      x: (x(p.at) - slot * 0.4).toFixed(1), y: (box.top + box.height - h).toFixed(1),
      width: Math.max(1, slot * 0.8).toFixed(1), height: h.toFixed(1), fill: '#9dbbe0',
    });
    bar.append(svg('title', {}, `${new Date(p.at).toLocaleString()}: ${p.posts} posts, ${Math.round(p.share * 100)}% negative`));
    bars.append(bar);
  }
  root.append(bars);
  const yShare = (f) => box.top + box.height - f * box.height;
  const d = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${yShare(p.share).toFixed(1)}`).join(' ');
  const share = svg('g', { 'data-series': 'negative_share' });
  share.append(svg('path', { d, fill: 'none', stroke: '#a4161a', 'stroke-width': 2.5 }));
  // A marker per bucket: a line through one bucket draws nothing, a marker still shows its share.
  for (const p of sorted) share.append(svg('circle', { cx: x(p.at).toFixed(1), cy: yShare(p.share).toFixed(1), r: 3, fill: '#a4161a' }));
  root.append(share);
  return root;
}
