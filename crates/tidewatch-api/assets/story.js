// One story: its volume and negativity over time (an inline SVG chart, in front of all the
// watch's posts in those minutes and the watch's usual volume), the terms that define it, its
// first post, the posts with most reach (linked to their source, http(s) links only), its top
// authors, sources and languages, why it fired (baseline, score, threshold), and its alert
// history with the time of each event.
import { api, chartTable, el, percent, scrollTable, when, number, webUrl } from './app.js';
import { barsAndShare, CONTEXT_FILL, fillBuckets, LABEL_COLOURS, STORY_BAR, swatch } from './chart.js';
import { bucketLabel, zoneLabel } from './time.js';

const INTERVAL_OF_STEP = new Map([[60e3, '1m'], [300e3, '5m'], [900e3, '15m'], [3600e3, '1h']]);
/** How far before the story the watch's usual volume is measured. */
const USUAL_WINDOW_MS = 24 * 3600e3;

/** The bucket length of a timeline: its smallest gap, one minute for a single bucket. */
function timelineStep(times) {
  let step = Infinity;
  for (let i = 1; i < times.length; i += 1) step = Math.min(step, times[i] - times[i - 1]);
  return Number.isFinite(step) && step > 0 ? step : 60e3;
}

/**
 * The watch's posts per bucket from a day before the story to its end, at the story's bucket
 * length: what the watch usually sees (the mean per bucket over the day before the story,
 * empty buckets counted) and everything it saw during the story. Null when it cannot be had.
 */
async function watchContext(story, first, last, step) {
  const interval = INTERVAL_OF_STEP.get(step);
  if (!interval) return null;
  const from = new Date(first - USUAL_WINDOW_MS).toISOString().replace('.000Z', 'Z');
  const to = new Date(last + step).toISOString().replace('.000Z', 'Z');
  const params = new URLSearchParams({ from, to, interval, group_by: 'watch', watch: story.watch });
  const body = await api(`/api/v1/trends?${params}`);
  const buckets = body.buckets.map((b) => ({ at: Date.parse(b.bucket), posts: b.posts }));
  const before = buckets.filter((b) => b.at < first).reduce((sum, b) => sum + b.posts, 0);
  return { buckets: buckets.filter((b) => b.at >= first), usual: before / (USUAL_WINDOW_MS / step) };
}
import { actionButtons } from './alerts.js';

/** A handle shown with one leading @, whether or not the source kept it. */
function handle(name) {
  return `@${String(name).replace(/^@+/, '')}`;
}

function postItem(post, testid) {
  const author = post.author_handle ? handle(post.author_handle) : 'unknown author';
  const followers = post.author_followers === null || post.author_followers === undefined ? '' : ` · ${number(post.author_followers)} followers`;
  // Only an http(s) URL becomes a link; anything else is not shown at all.
  const href = webUrl(post.url);
  const link = href
    ? el('a', { href, rel: 'noopener noreferrer', target: '_blank', 'data-testid': 'post-link' }, 'open at source')
    : null;
  return el('li', { 'data-testid': testid, 'data-source-id': post.source_id },
    el('blockquote', {}, post.text),
    el('p', { class: 'small' },
      `${author}${followers} · ${post.source} · ${when(post.created_at)} · ${post.label || ''} `,
      `(${number(post.reposts)} reposts, ${number(post.likes)} likes) `, link));
}

function countTable(caption, rows, key, testid) {
  if (!rows || rows.length === 0) return el('p', { class: 'empty' }, `No ${caption.toLowerCase()}.`);
  return el('table', { 'data-testid': testid },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, key), el('th', { scope: 'col', class: 'num' }, 'Posts'))),
    el('tbody', {}, rows.map((row) => el('tr', {}, el('td', {}, row[key] || '–'), el('td', { class: 'num' }, number(row.posts))))));
}

function render(view, body, alertBody, context, step) {
  const { story } = body;
  const timeline = (body.timeline || []).map((b) => ({
    at: Date.parse(b.bucket), posts: b.posts, share: b.negative_share ?? (b.posts ? b.negative / b.posts : 0),
  }));
  const chartRows = timeline.map((p) => ({
    bucket: bucketLabel(p.at, step), posts: number(p.posts), share: percent(p.share),
    watch: number(context?.buckets.find((c) => c.at === p.at)?.posts ?? null),
  }));
  const alert = alertBody?.alert;
  const refresh = () => showStory(view, story.story_id);
  view.replaceChildren(
    el('p', {}, el('a', { href: '#/alerts' }, '← All alerts')),
    el('h1', { 'data-testid': 'story-title' },
      el('span', { class: `badge ${story.severity}` }, story.severity), ' ', story.title || story.story_id),
    el('p', { class: 'small' },
      `Watch ${story.watch} · story ${story.state}`, alert ? ` · alert ${alert.status}` : '',
      ` · first post ${when(story.first_post_at)} · fired ${when(story.fired_at)}`),
    el('div', {}, alert ? actionButtons(alert, refresh) : null),
    el('h2', { id: 'chart-title' }, 'Volume and negativity'),
    el('div', { 'data-testid': 'story-chart' },
      barsAndShare(timeline, {
        title: `Posts and negative share over time for ${story.title}, times in ${zoneLabel()}`,
        step, now: Date.now(), context: context?.buckets || [], usual: context ? context.usual : null,
      })),
    el('ul', { class: 'legend' },
      el('li', {}, swatch(STORY_BAR), 'the story\'s posts per bucket'),
      el('li', {}, swatch(LABEL_COLOURS.negative), 'its negative share (right axis)'),
      context ? el('li', {}, swatch(CONTEXT_FILL), 'all posts on the watch') : null,
      context ? el('li', {}, swatch('#3d4f5c', { dashed: true }), `usual for the watch: ${number(context.usual, 1)} per bucket (mean of the day before)`) : null,
      el('li', {}, swatch(STORY_BAR, { dashed: true }), 'hollow: the bucket still under way')),
    chartTable('posts per bucket', [['bucket', 'Bucket', false], ['posts', 'Story posts', true], ['share', 'Negative', true], ['watch', 'All watch posts', true]], chartRows, 'story-chart-numbers'),
    el('div', { class: 'grid' },
      el('section', { class: 'card', 'aria-labelledby': 'why-title' },
        el('h2', { id: 'why-title' }, 'Why it fired'),
        el('dl', { class: 'why-fired', 'data-testid': 'why-fired' },
          el('dt', {}, 'Score'), el('dd', { 'data-testid': 'story-score' }, number(story.score, 2)),
          el('dt', {}, 'Threshold'), el('dd', { 'data-testid': 'story-threshold' }, number(story.threshold, 2)),
          el('dt', {}, 'Baseline'), el('dd', { 'data-testid': 'story-baseline' }, `${number(story.baseline, 2)} per epoch`),
          el('dt', {}, 'Posts'), el('dd', {}, number(story.posts)),
          el('dt', {}, 'Negative share'), el('dd', {}, percent(story.negative_share)))),
      el('section', { class: 'card', 'aria-labelledby': 'terms-title' },
        el('h2', { id: 'terms-title' }, 'Terms'),
        el('ul', { class: 'terms', 'data-testid': 'story-terms' }, (story.terms || []).map((t) => el('li', {}, t)))),
      el('section', { class: 'card', 'aria-labelledby': 'reach-title' },
        el('h2', { id: 'reach-title' }, 'Sources and languages'),
        countTable('Sources', body.sources, 'source', 'story-sources'),
        countTable('Languages', body.languages, 'language', 'story-languages'))),
    el('h2', {}, 'First post'),
    body.first_post
      ? el('ul', { class: 'posts' }, postItem(body.first_post, 'first-post'))
      : el('p', { class: 'empty', 'data-testid': 'first-post-missing' }, `First post ${story.first_post_id} is not stored.`),
    el('h2', {}, 'Posts with most reach'),
    el('ul', { class: 'posts', 'data-testid': 'top-posts' }, (body.top_posts || []).map((p) => postItem(p, 'top-post'))),
    el('h2', {}, 'Top authors'),
    scrollTable('Top authors', el('table', { 'data-testid': 'top-authors' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Author'), el('th', { scope: 'col', class: 'num' }, 'Followers'), el('th', { scope: 'col', class: 'num' }, 'Posts'))),
      el('tbody', {}, (body.top_authors || []).map((a) => el('tr', {},
        el('td', {}, handle(a.handle)), el('td', { class: 'num' }, number(a.followers)), el('td', { class: 'num' }, number(a.posts))))))),
    el('h2', {}, 'History'),
    scrollTable('History', el('table', { 'data-testid': 'story-history' },
      el('caption', { class: 'small' }, `Every event and action, times in ${zoneLabel()}`),
      el('thead', {}, el('tr', {}, ['When', 'What', 'Who / severity', 'Posts'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {},
        (body.events || []).map((e) => el('tr', {}, el('td', {}, when(e.fired_at)), el('td', {}, e.state), el('td', {}, e.severity), el('td', {}, number(e.posts)))),
        (alertBody?.actions || []).map((a) => el('tr', {}, el('td', {}, when(a.at)), el('td', {}, a.action), el('td', {}, a.by), el('td', {}, a.note || '')))))),
  );
}

export function showStory(view, storyId) {
  view.replaceChildren(el('p', { role: 'status' }, 'Loading story…'));
  const id = encodeURIComponent(storyId);
  Promise.all([
    api(`/api/v1/stories/${id}`),
    api(`/api/v1/alerts/${id}`).catch(() => null),
  ]).then(async ([body, alertBody]) => {
    const times = (body.timeline || []).map((b) => Date.parse(b.bucket)).sort((a, b) => a - b);
    const step = timelineStep(times);
    // Empty minutes inside the story are drawn as zero, not left out.
    if (times.length) {
      const known = new Map(body.timeline.map((b) => [Date.parse(b.bucket), b]));
      body.timeline = fillBuckets(times.map((t) => [t, 0]), { from: times[0], to: times[times.length - 1] + step, step })
        .map(([t]) => known.get(t) || { bucket: new Date(t).toISOString(), posts: 0, negative: 0, negative_share: 0 });
    }
    const context = times.length
      ? await watchContext(body.story, times[0], times[times.length - 1], step).catch(() => null)
      : null;
    render(view, body, alertBody, context, step);
  })
    .catch((error) => view.replaceChildren(
      el('h1', {}, 'Story'),
      el('p', { class: 'error', role: 'alert' }, error.status === 404 ? 'No such story.' : `Could not load the story: ${error.message}`),
      el('p', {}, el('a', { href: '#/alerts' }, 'Back to alerts'))));
}
