// The live alert feed: the current alerts from GET /api/v1/alerts, then every change from the
// server-sent events of /api/v1/alerts/stream (new, updated, acknowledged, resolved) without a
// reload; after the stream reconnects, the list again (what changed while it was down).
// Responders and admins get ack / resolve / snooze buttons; viewers do not.
import { api, canAct, el, announce, percent, age, number, streamUrl, when } from './app.js';
import { clock } from './time.js';

const STATUSES = ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all'];

/**
 * Posts per minute between the story's last two counts the page has seen (the detector's
 * events, or the stream's updates), so the rate follows the story's recent pace instead of its
 * average since the first post; null until two counts are known.
 */
function growth(history) {
  if (!history || history.length < 2) return null;
  const [earlier, later] = history.slice(-2);
  const minutes = (later.at - earlier.at) / 60000;
  return minutes > 0 ? (later.posts - earlier.posts) / minutes : null;
}

function shows(filter, alert) {
  if (filter === 'all') return true;
  if (filter === 'active') return alert.status !== 'resolved';
  return alert.status === filter;
}

/** Sends an alert action; returns the updated alert. */
export async function act(storyId, action, body) {
  const result = await api(`/api/v1/alerts/${encodeURIComponent(storyId)}/${action}`, {
    method: 'POST', body: body || {},
  });
  return result.alert;
}

export function actionButtons(alert, onDone) {
  if (!canAct()) return null;
  const run = (action, label, body) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const updated = await act(alert.story_id, action, body);
      announce(`${label}: ${alert.title}`);
      onDone(updated);
    } catch (error) {
      announce(`${label} failed: ${error.message}`);
      button.disabled = false;
    }
  };
  const buttons = [];
  // One state, one set of buttons: open → acknowledge / snooze / resolve; acknowledged →
  // snooze / resolve; snoozed → unsnooze / resolve; resolved → none.
  if (alert.status === 'open') {
    buttons.push(el('button', { type: 'button', 'data-testid': 'ack', onclick: run('ack', 'Acknowledged') }, 'Acknowledge'));
  }
  if (alert.status !== 'resolved') {
    if (alert.status === 'snoozed') {
      buttons.push(el('button', { type: 'button', class: 'secondary', 'data-testid': 'unsnooze', onclick: run('unsnooze', 'Unsnoozed') }, 'Unsnooze'));
    } else {
      buttons.push(el('button', { type: 'button', class: 'secondary', 'data-testid': 'snooze', onclick: run('snooze', 'Snoozed for 1 hour', { minutes: 60 }) }, 'Snooze 1 h'));
    }
    buttons.push(el('button', { type: 'button', class: 'secondary', 'data-testid': 'resolve', onclick: run('resolve', 'Resolved') }, 'Resolve'));
  }
  return el('div', { class: 'actions', role: 'group', 'aria-label': `Actions for ${alert.title}` }, buttons);
}

/** Why the story fired, on the card itself: its terms, and its score against threshold and usual. */
function why(alert) {
  const terms = (alert.terms || []).slice(0, 5);
  return el('p', { class: 'why', 'data-testid': 'alert-why' },
    terms.length ? el('span', {}, 'Terms ', terms.map((term) => el('span', { class: 'term' }, term))) : null,
    el('span', { 'data-testid': 'alert-score' },
      `score ${number(alert.score, 1)} (fires at ${number(alert.threshold, 1)}, usual ${number(alert.baseline, 2)} per epoch)`));
}

/** Who handled the alert, for its current status only (a snoozed alert says snoozed, not acked). */
function handledBy(alert) {
  const entry = (term, value, testid) => el('div', {}, el('dt', {}, term), el('dd', { 'data-testid': testid }, value));
  if (alert.status === 'acknowledged' && alert.acknowledged_by) return entry('Acknowledged by', `${alert.acknowledged_by} at ${clock(alert.acknowledged_at)}`, 'alert-handled');
  if (alert.status === 'snoozed' && alert.snoozed_until) return entry('Snoozed until', when(alert.snoozed_until), 'alert-handled');
  if (alert.status === 'resolved') return entry('Resolved', `${alert.resolved_by ? `by ${alert.resolved_by} ` : ''}at ${clock(alert.resolved_at || alert.last_event_at)}`, 'alert-handled');
  return null;
}

function card(alert, now, fresh, onChange, history) {
  const titleId = `alert-${alert.story_id}`;
  const item = el('li', {
    class: `alert${fresh ? ' fresh' : ''}`, 'data-testid': 'alert', 'data-story-id': alert.story_id,
    'data-severity': alert.severity, 'data-status': alert.status, 'aria-labelledby': titleId,
  });
  const rate = growth(history);
  const buttons = actionButtons(alert, onChange);
  item.append(
    el('h2', { id: titleId, class: 'alert-title' },
      el('span', { class: `badge ${alert.severity}`, 'data-testid': 'alert-severity' }, alert.severity), ' ',
      el('a', { href: `#/stories/${encodeURIComponent(alert.story_id)}`, 'data-testid': 'alert-title' }, alert.title || '(untitled story)')),
    el('dl', { class: 'meta' },
      el('div', {}, el('dt', {}, 'Watch'), el('dd', { 'data-testid': 'alert-watch' }, alert.watch)),
      el('div', {}, el('dt', {}, 'Status'), el('dd', {}, el('span', { class: `badge ${alert.status}`, 'data-testid': 'alert-status' }, alert.status))),
      el('div', {}, el('dt', {}, 'Posts'), el('dd', { 'data-testid': 'alert-posts', 'data-value': alert.posts }, number(alert.posts))),
      el('div', {}, el('dt', {}, 'Growth'), el('dd', { 'data-testid': 'alert-growth' },
        rate === null ? 'measuring…' : `${rate >= 0 ? '+' : ''}${number(rate, 1)} posts/min lately`)),
      el('div', {}, el('dt', {}, 'Last change'), el('dd', { 'data-testid': 'alert-last-event' }, clock(alert.last_event_at))),
      el('div', {}, el('dt', {}, 'Negative'), el('dd', { 'data-testid': 'alert-negative' }, percent(alert.negative_share))),
      el('div', {}, el('dt', {}, 'Age'), el('dd', { 'data-testid': 'alert-age', 'data-since': alert.fired_at }, age(alert.fired_at, now))),
      handledBy(alert)),
    why(alert),
  );
  if (buttons) item.append(buttons);
  return item;
}

export function showAlerts(view) {
  const alerts = new Map();
  const fresh = new Set();
  // The post counts seen per story, with when the page saw them: the cards' recent growth.
  const counts = new Map();
  let watched = null;
  let filter = 'active';
  const list = el('ul', { class: 'feed', 'data-testid': 'alert-feed', 'aria-live': 'polite', 'aria-relevant': 'additions text', 'aria-label': 'Alerts' });
  const status = el('p', { class: 'stream', 'data-testid': 'stream-status', 'data-state': 'connecting', role: 'status' }, 'Connecting…');
  const select = el('select', { id: 'status-filter', 'data-testid': 'status-filter' },
    STATUSES.map((s) => el('option', { value: s, selected: s === filter }, s)));
  select.addEventListener('change', () => { filter = select.value; render(); });
  view.append(
    el('h1', {}, 'Alerts'),
    el('div', { class: 'toolbar' },
      el('div', {}, el('label', { for: 'status-filter' }, 'Show'), select), status),
    list,
  );

  function render() {
    const now = Date.now();
    const shown = [...alerts.values()].filter((a) => shows(filter, a))
      .sort((a, b) => Date.parse(b.last_event_at || b.fired_at) - Date.parse(a.last_event_at || a.fired_at));
    const focused = document.activeElement?.closest?.('[data-story-id]')?.dataset.storyId;
    list.replaceChildren(...shown.map((a) => card(a, now, fresh.has(a.story_id), upsert, counts.get(a.story_id))));
    if (shown.length === 0) list.append(emptyState(now));
    if (focused) list.querySelector(`[data-story-id="${CSS.escape(focused)}"] a`)?.focus();
    fresh.clear();
  }

  /** What an empty feed says: what is watched, how busy each watch was, and the last alert. */
  function emptyState(now) {
    const latest = [...alerts.values()].sort((a, b) => Date.parse(b.last_event_at) - Date.parse(a.last_event_at))[0];
    const what = filter === 'all' ? 'No alerts yet.' : `No ${filter === 'active' ? 'active' : filter} alerts right now.`;
    return el('li', { class: 'empty-state', 'data-testid': 'feed-empty' },
      el('p', {}, el('strong', {}, what), ' A story is flagged here as soon as negative posts about a watch rise above its usual level.'),
      watched === null ? null : watched.length === 0
        ? el('p', { 'data-testid': 'empty-watches' }, 'No watched posts arrived in the last hour.')
        : el('p', { 'data-testid': 'empty-watches' }, 'Watching, posts in the last hour: ',
          watched.map((w, i) => [i ? ', ' : '', el('strong', {}, w.watch), ` ${number(w.posts)} (${percent(w.negative_share)} negative)`])),
      latest
        ? el('p', { 'data-testid': 'empty-last-alert' }, 'Last alert: ',
          el('a', { href: `#/stories/${encodeURIComponent(latest.story_id)}` }, latest.title || latest.story_id),
          ` on ${latest.watch}, ${latest.status}, ${age(latest.last_event_at, now)} ago.`)
        : el('p', { 'data-testid': 'empty-last-alert' }, 'There has been no alert yet.'));
  }

  function loadWatched() {
    const to = new Date();
    const from = new Date(to.getTime() - 3600e3);
    const params = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    api(`/api/v1/share-of-voice?${params}`)
      .then((body) => { watched = body.watches || []; if (![...alerts.values()].some((a) => shows(filter, a))) render(); })
      .catch(() => { /* the empty state then says less */ });
  }

  function remember(alert) {
    const seen = counts.get(alert.story_id) || [];
    const at = Date.now();
    if (!seen.length || seen[seen.length - 1].posts !== alert.posts) seen.push({ at, posts: alert.posts });
    counts.set(alert.story_id, seen.slice(-5));
  }

  // Each change from the stream (or the user's own action) is numbered, so that a list answer
  // never undoes a change made after its request was sent.
  let changes = 0;
  const changedAt = new Map();

  function upsert(alert, { quiet = false } = {}) {
    const before = alerts.get(alert.story_id);
    alerts.set(alert.story_id, alert);
    remember(alert);
    changes += 1;
    changedAt.set(alert.story_id, changes);
    if (!quiet) {
      fresh.add(alert.story_id);
      if (!before) announce(`New ${alert.severity} alert on ${alert.watch}: ${alert.title}`);
      else if (before.status !== alert.status) announce(`${alert.title} is now ${alert.status}`);
    }
    render();
  }

  // The list, at the start and again after every reconnect. A story changed since the request
  // was sent keeps its newer state; an answer older than one already applied is dropped.
  let listRequests = 0;
  let listApplied = 0;
  function loadList() {
    const ticket = ++listRequests;
    const mark = changes;
    api('/api/v1/alerts?limit=200')
      .then((body) => {
        if (ticket < listApplied) return;
        listApplied = ticket;
        for (const a of body.alerts) {
          if ((changedAt.get(a.story_id) || 0) <= mark) { alerts.set(a.story_id, a); remember(a); }
        }
        render();
      })
      .catch((error) => list.replaceChildren(el('li', { class: 'error' }, `Could not load alerts: ${error.message}`)));
  }
  loadList();
  loadWatched();

  // The stream opens with a short-lived ticket. The browser reconnects by itself with the same
  // URL after a drop; once the server refuses it (the ticket expired, or too many streams) the
  // browser gives up, and a new ticket is fetched after a pause.
  let source = null;
  let left = false;
  let retry = null;
  let connectedBefore = false;
  const reconnecting = () => { status.dataset.state = 'reconnecting'; status.textContent = 'Reconnecting…'; };
  async function connect() {
    let url;
    try {
      url = await streamUrl();
    } catch {
      if (!left) { reconnecting(); retry = setTimeout(connect, 5000); }
      return;
    }
    if (left) return;
    source = new EventSource(url);
    source.addEventListener('open', () => {
      status.dataset.state = 'live';
      status.textContent = 'Live';
      // Why a reload on reconnect: the stream replays only its last seconds, so whatever changed
      // while the connection was down would otherwise be missing until the page is reloaded.
      if (connectedBefore) loadList();
      connectedBefore = true;
    });
    source.addEventListener('error', () => {
      reconnecting();
      if (source.readyState === EventSource.CLOSED && !left) retry = setTimeout(connect, 3000);
    });
    source.addEventListener('alert', (event) => {
      try { upsert(JSON.parse(event.data)); } catch { /* a malformed event is skipped */ }
    });
  }
  connect();
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const node of list.querySelectorAll('[data-testid="alert-age"]')) node.textContent = age(node.dataset.since, now);
  }, 15000);
  return () => { left = true; source?.close(); clearTimeout(retry); clearInterval(ticker); };
}
