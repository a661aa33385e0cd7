// Small inline-SVG charts drawn from data: a multi-series line chart and a bars + line chart.
// Each chart is an <svg role="img"> with a <title> and <desc> that say what it shows, a hover
// title with the exact values on every point and bar, and a table of its numbers (collapsed)
// as the text alternative. Colours are fixed by meaning: sentiment labels always have the same
// colour (negative vermillion-red, neutral grey, positive bluish green: the Okabe–Ito palette,
// told apart with every common colour-vision deficiency), and a watch always gets the same
// colour, chosen from its name, in every view. Empty buckets are drawn as zero; a bucket that
// has not ended yet (the last one, usually) is drawn dashed and hollow and called "partial", so
// a bucket half-way through never reads as a fall.
import { axisLabel, bucketLabel, zoneAbbreviation } from './time.js';

const NS = 'http://www.w3.org/2000/svg';

export const LABEL_COLOURS = { negative: '#c8501a', neutral: '#767676', positive: '#00845f' };
/** Colours for watches and other groups: Okabe–Ito and darker companions, all ≥ 3:1 on white. */
export const PALETTE = ['#0072b2', '#b35c00', '#8a3f8f', '#00758a', '#5c6b00', '#b0306a', '#3d4f8f', '#6b4d1f'];
export const STORY_BAR = '#7ea6d6';
export const CONTEXT_FILL = '#e3e7ec';

/** A stable colour for a name: the same watch is the same colour in every view and session. */
export function stableColour(name) {
  let hash = 2166136261;
  for (const char of String(name)) {
    hash ^= char.codePointAt(0);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return PALETTE[hash % PALETTE.length];
}

/** The colour of a series: fixed for sentiment labels, stable by name for everything else. */
export function seriesColour(groupBy, name) {
  if (groupBy === 'label' && LABEL_COLOURS[name]) return LABEL_COLOURS[name];
  return stableColour(name);
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A legend swatch: a small SVG square (presentation attributes, not a style attribute, so the
 * page's Content-Security-Policy, which forbids inline styles, allows it). `dashed` draws an
 * outline for a series drawn dashed.
 */
export function swatch(color, { dashed = false } = {}) {
  const root = svg('svg', { viewBox: '0 0 14 14', width: 14, height: 14, 'aria-hidden': 'true', class: 'swatch' });
  root.append(dashed
    ? svg('rect', { x: 1, y: 1, width: 12, height: 12, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': '3 2' })
    : svg('rect', { x: 0, y: 0, width: 14, height: 14, rx: 2, fill: color }));
  return root;
}

/**
 * Every bucket that overlaps [from, to), each with its value
 * from `points` ([[ms, value]]) or 0: a line must drop to zero where nothing was posted instead
 * of bridging the gap. Buckets are aligned like the given points (or to `step` from the epoch).
 */
export function fillBuckets(points, { from, to, step }) {
  if (!step || !(to > from)) return [...points].sort((a, b) => a[0] - b[0]);
  const known = new Map(points.map(([ms, value]) => [ms, value]));
  const anchor = points.length ? points[0][0] : 0;
  const offset = ((anchor % step) + step) % step;
  let start = Math.floor((from - offset) / step) * step + offset;
  const filled = [];
  // Bounded: at most 5,000 buckets drawn (the API allows more, a chart cannot show them).
  for (let ms = start; ms < to && filled.length < 5000; ms += step) filled.push([ms, known.get(ms) ?? 0]);
  for (const [ms, value] of points) if (!filled.some(([at]) => at === ms)) filled.push([ms, value]);
  return filled.sort((a, b) => a[0] - b[0]);
}

/** Whether the bucket starting at `ms` had not ended at `now`. */
export function isPartial(ms, step, now) {
  return Boolean(step) && ms + step > now;
}

function frame(title, description, width, height) {
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart' });
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  root.append(svg('title', { id: `${id}-t` }, title), svg('desc', { id: `${id}-d` }, description));
  root.setAttribute('aria-labelledby', `${id}-t ${id}-d`);
  return root;
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

/** The top of a value axis: round counts, or quarters for fractions (shares, means). */
function valueTop(max, fractional) {
  if (!fractional) return niceTop(max);
  return Math.min(1, Math.max(0.25, Math.ceil(max * 4) / 4));
}

/**
 * Grid, value labels (left), optional share labels (right) and time labels under `xOf`'s
 * positions, with the zone on the axis. A label equal to the one before it is left out.
 */
function axes(root, box, { xMin, xMax, xOf, yMin = 0, yMax, step, left: leftLabel, right }) {
  const { left, top, width, height } = box;
  root.append(svg('line', { x1: left, y1: top + height, x2: left + width, y2: top + height, stroke: '#6b7580' }));
  for (let i = 0; i <= 4; i += 1) {
    const y = top + height - (i / 4) * height;
    root.append(svg('line', { x1: left, y1: y, x2: left + width, y2: y, stroke: '#e4e8ec' }));
    root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, leftLabel(yMin + (i / 4) * (yMax - yMin))));
    if (right) root.append(svg('text', { x: left + width + 6, y: y + 4 }, right(i / 4)));
  }
  const span = xMax - xMin;
  const ticks = span === 0 ? [xMin] : [0, 1, 2, 3, 4].map((i) => xMin + (i / 4) * span);
  let previous = null;
  for (const ms of ticks) {
    const label = axisLabel(ms, span, step);
    if (label === previous) continue;
    previous = label;
    const x = xOf(ms);
    const anchor = x <= left + 1 ? 'start' : x >= left + width - 1 ? 'end' : 'middle';
    root.append(svg('text', { x: x.toFixed(1), y: top + height + 16, 'text-anchor': anchor, 'data-tick': 'time' }, label));
  }
  root.append(svg('text', { x: left + width, y: top + height + 32, 'text-anchor': 'end', 'data-testid': 'chart-zone' },
    `times in ${zoneAbbreviation(xMax)}`));
}

/**
 * Lines, one per series: `series` = [{ name, colour, points: [[ms, value], …] }] (fill empty
 * buckets first with `fillBuckets`). `step` and `now` mark a last bucket that has not ended.
 * `format` prints a value; `fractional` scales the axis for shares and means (`yMin` −1 for
 * sentiment).
 */
export function lineChart(series, {
  title, yLabel = '', width = 900, height = 300, step = 0, now = Date.now(),
  format = (v) => String(Math.round(v)), fractional = false, yMin = 0, yMax: fixedTop = null,
} = {}) {
  const all = series.flatMap((s) => s.points);
  const description = `${series.length} series (${series.map((s) => s.name).join(', ')}), ${all.length} points of ${yLabel}`;
  const root = frame(title, description, width, height);
  root.dataset.points = String(all.length);
  if (all.length === 0) return root;
  const box = { left: 56, top: 12, width: width - 76, height: height - 58 };
  const xMin = Math.min(...all.map((p) => p[0]));
  const xMax = Math.max(...all.map((p) => p[0]));
  const yMax = fixedTop ?? valueTop(Math.max(...all.map((p) => p[1])), fractional);
  const x = (ms) => box.left + ((ms - xMin) / Math.max(1, xMax - xMin)) * box.width;
  axes(root, box, { xMin, xMax, xOf: x, yMin, yMax, step, left: format });
  const y = (v) => box.top + box.height - ((v - yMin) / (yMax - yMin)) * box.height;
  for (const s of series) {
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    const last = points[points.length - 1];
    const partial = last && isPartial(last[0], step, now);
    const whole = partial ? points.slice(0, -1) : points;
    const group = svg('g', { 'data-series': s.name, 'data-colour': s.colour });
    const path = (list) => list.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    if (whole.length) group.append(svg('path', { d: path(whole), fill: 'none', stroke: s.colour, 'stroke-width': 2 }));
    if (partial && whole.length) {
      group.append(svg('path', {
        d: path([whole[whole.length - 1], last]), fill: 'none', stroke: s.colour, 'stroke-width': 2,
        'stroke-dasharray': '5 4', 'data-partial': 'true',
      }));
    }
    for (const p of points) {
      const isLast = partial && p === last;
      const dot = svg('circle', {
        cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: isLast ? 4 : 2.5,
        fill: isLast ? '#ffffff' : s.colour, stroke: s.colour, 'stroke-width': isLast ? 2 : 0,
        'data-partial': isLast ? 'true' : null,
      });
      dot.append(svg('title', {}, `${s.name}, ${bucketLabel(p[0], step)}: ${format(p[1])}${isLast ? ' (partial: this bucket has not ended)' : ''}`));
      group.append(dot);
    }
    root.append(group);
  }
  return root;
}

/**
 * A story's volume as bars (left axis) and its negative share as a line (right axis, percent),
 * in front of `context` ([{ at, posts }]: all the watch's posts in the same buckets, a light
 * area) and `usual` (the watch's usual posts per bucket, a dashed line). The last bucket, if it
 * has not ended at `now`, is drawn hollow and marked partial.
 */
export function barsAndShare(points, { title, width = 900, height = 280, step = 0, now = Date.now(), context = [], usual = null } = {}) {
  const description = `${points.length} time buckets: the story's posts per bucket as bars, its negative share as a line`
    + (context.length ? ', all posts of the watch as a shaded area' : '')
    + (usual !== null ? `, the watch's usual ${Math.round(usual * 10) / 10} posts per bucket as a dashed line` : '');
  const root = frame(title, description, width, height);
  root.dataset.points = String(points.length);
  if (points.length === 0) return root;
  const box = { left: 48, top: 12, width: width - 100, height: height - 58 };
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const xMin = sorted[0].at;
  const xMax = sorted[sorted.length - 1].at;
  const shownContext = context.filter((c) => c.at >= xMin && c.at <= xMax);
  const yMax = niceTop(Math.max(...sorted.map((p) => p.posts), ...shownContext.map((c) => c.posts), usual || 0));
  const slot = box.width / Math.max(1, sorted.length);
  const x = (ms) => box.left + ((ms - xMin) / Math.max(1, xMax - xMin)) * (box.width - slot) + slot / 2;
  const yCount = (v) => box.top + box.height - (v / yMax) * box.height;
  axes(root, box, { xMin, xMax, xOf: x, yMax, step, left: (v) => String(Math.round(v)), right: (f) => `${Math.round(f * 100)}%` });
  if (shownContext.length) {
    const area = svg('g', { 'data-series': 'watch_posts' });
    for (const c of shownContext) {
      const h = (c.posts / yMax) * box.height;
      const rect = svg('rect', {
        x: (x(c.at) - slot / 2).toFixed(1), y: (box.top + box.height - h).toFixed(1),
        width: Math.max(1, slot).toFixed(1), height: h.toFixed(1), fill: CONTEXT_FILL,
      });
      rect.append(svg('title', {}, `${bucketLabel(c.at, step)}: ${c.posts} posts on the watch in all`));
      area.append(rect);
    }
    root.append(area);
  }
  if (usual !== null) {
    const line = svg('line', {
      x1: box.left, x2: box.left + box.width, y1: yCount(usual).toFixed(1), y2: yCount(usual).toFixed(1),
      stroke: '#3d4f5c', 'stroke-width': 1.5, 'stroke-dasharray': '6 4', 'data-series': 'usual',
    });
    line.append(svg('title', {}, `usual for this watch: ${Math.round(usual * 10) / 10} posts per bucket`));
    root.append(line);
  }
  const bars = svg('g', { 'data-series': 'posts' });
  for (const p of sorted) {
    const partial = isPartial(p.at, step, now);
    const h = (p.posts / yMax) * box.height;
    const bar = svg('rect', {
      x: (x(p.at) - slot * 0.4).toFixed(1), y: (box.top + box.height - h).toFixed(1),
      width: Math.max(1, slot * 0.8).toFixed(1), height: h.toFixed(1),
      fill: partial ? '#ffffff' : STORY_BAR, stroke: partial ? STORY_BAR : null,
      'stroke-width': partial ? 2 : null, 'stroke-dasharray': partial ? '4 3' : null,
      'data-partial': partial ? 'true' : null, 'data-posts': p.posts, 'data-at': p.at,
    });
    bar.append(svg('title', {}, `${bucketLabel(p.at, step)}: ${p.posts} posts, ${Math.round(p.share * 100)}% negative${partial ? ' (partial: this bucket has not ended)' : ''}`));
    bars.append(bar);
  }
  root.append(bars);
  const yShare = (f) => box.top + box.height - f * box.height;
  const d = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${yShare(p.share).toFixed(1)}`).join(' ');
  const share = svg('g', { 'data-series': 'negative_share' });
  share.append(svg('path', { d, fill: 'none', stroke: LABEL_COLOURS.negative, 'stroke-width': 2.5 }));
  // A marker per bucket: a line through one bucket draws nothing, a marker still shows its share.
  for (const p of sorted) {
    const dot = svg('circle', { cx: x(p.at).toFixed(1), cy: yShare(p.share).toFixed(1), r: 3, fill: LABEL_COLOURS.negative });
    dot.append(svg('title', {}, `${bucketLabel(p.at, step)}: ${Math.round(p.share * 100)}% negative`));
    share.append(dot);
  }
  root.append(share);
  return root;
}
