// One story: its volume and negativity over time (an inline SVG chart), the terms that define
// it, its first post, the posts with most reach (linked to their source), its top authors,
// sources and languages, why it fired (baseline, score, threshold), and its alert history.
import { api, el, percent, when, number } from './app.js';
import { barsAndShare } from './chart.js';
import { actionButtons } from './alerts.js';

/** A handle shown with one leading @, whether or not the source kept it. */
function handle(name) {
  return `@${String(name).replace(/^@+/, '')}`;
}

function postItem(post, testid) {
  const author = post.author_handle ? handle(post.author_handle) : 'unknown author';
  const followers = post.author_followers === null || post.author_followers === undefined ? '' : ` · ${number(post.author_followers)} followers`;
  const link = post.url
    ? el('a', { href: post.url, rel: 'noopener noreferrer', target: '_blank', 'data-testid': 'post-link' }, 'open at source')
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

function render(view, body, alertBody) {
  const { story } = body;
  const timeline = (body.timeline || []).map((b) => ({
    at: Date.parse(b.bucket), posts: b.posts, share: b.negative_share ?? (b.posts ? b.negative / b.posts : 0),
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
      barsAndShare(timeline, { title: `Posts and negative share over time for ${story.title}` })),
    el('ul', { class: 'legend' },
      el('li', {}, el('span', { style: 'background:#9dbbe0' }), 'posts per bucket'),
      el('li', {}, el('span', { style: 'background:#a4161a' }), 'negative share')),
    el('div', { class: 'grid' },
      el('section', { class: 'card', 'aria-labelledby': 'why-title' },
        el('h2', { id: 'why-title' }, 'Why it fired'),
        el('dl', { class: 'why', 'data-testid': 'why-fired' },
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
    el('table', { 'data-testid': 'top-authors' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Author'), el('th', { scope: 'col', class: 'num' }, 'Followers'), el('th', { scope: 'col', class: 'num' }, 'Posts'))),
      el('tbody', {}, (body.top_authors || []).map((a) => el('tr', {},
        el('td', {}, handle(a.handle)), el('td', { class: 'num' }, number(a.followers)), el('td', { class: 'num' }, number(a.posts)))))),
    el('h2', {}, 'History'),
    el('table', { 'data-testid': 'story-history' },
      el('thead', {}, el('tr', {}, ['When', 'What', 'Who / severity', 'Posts'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {},
        (body.events || []).map((e) => el('tr', {}, el('td', {}, when(e.fired_at)), el('td', {}, e.state), el('td', {}, e.severity), el('td', {}, number(e.posts)))),
        (alertBody?.actions || []).map((a) => el('tr', {}, el('td', {}, when(a.at)), el('td', {}, a.action), el('td', {}, a.by), el('td', {}, a.note || ''))))),
  );
}

export function showStory(view, storyId) {
  view.replaceChildren(el('p', { role: 'status' }, 'Loading story…'));
  const id = encodeURIComponent(storyId);
  Promise.all([
    api(`/api/v1/stories/${id}`),
    api(`/api/v1/alerts/${id}`).catch(() => null),
  ]).then(([body, alertBody]) => render(view, body, alertBody))
    .catch((error) => view.replaceChildren(
      el('h1', {}, 'Story'),
      el('p', { class: 'error', role: 'alert' }, error.status === 404 ? 'No such story.' : `Could not load the story: ${error.message}`),
      el('p', {}, el('a', { href: '#/alerts' }, 'Back to alerts'))));
}
