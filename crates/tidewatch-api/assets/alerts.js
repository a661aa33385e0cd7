// The live alert feed: the current alerts from GET /api/v1/alerts, then every change from the
// server-sent events of /api/v1/alerts/stream (new, updated, acknowledged, resolved) without a
// reload; after the stream reconnects, the list again (what changed while it was down).
// Responders and admins get ack / resolve / snooze buttons; viewers do not.
import { api, canAct, el, announce, percent, age, number, session } from './app.js';

const STATUSES = ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all'];

/** Posts per minute since the story's first post: how fast it is growing. */
function growth(alert, now) {
  const minutes = Math.max(1, (now - Date.parse(alert.first_post_at || alert.fired_at)) / 60000);
  return alert.posts / minutes;
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
  if (alert.status !== 'acknowledged' && alert.status !== 'resolved') {
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

function card(alert, now, fresh, onChange) {
  const titleId = `alert-${alert.story_id}`;
  const item = el('li', {
    class: `alert${fresh ? ' fresh' : ''}`, 'data-testid': 'alert', 'data-story-id': alert.story_id,
    'data-severity': alert.severity, 'data-status': alert.status, 'aria-labelledby': titleId,
  });
  const rate = growth(alert, now);
  const buttons = actionButtons(alert, onChange);
  item.append(
    el('h3', { id: titleId },
      el('span', { class: `badge ${alert.severity}`, 'data-testid': 'alert-severity' }, alert.severity), ' ',
      el('a', { href: `#/stories/${encodeURIComponent(alert.story_id)}`, 'data-testid': 'alert-title' }, alert.title || '(untitled story)')),
    el('dl', { class: 'meta' },
      el('div', {}, el('dt', {}, 'Watch'), el('dd', { 'data-testid': 'alert-watch' }, alert.watch)),
      el('div', {}, el('dt', {}, 'Status'), el('dd', {}, el('span', { class: `badge ${alert.status}`, 'data-testid': 'alert-status' }, alert.status))),
      el('div', {}, el('dt', {}, 'Posts'), el('dd', { 'data-testid': 'alert-posts' }, number(alert.posts))),
      el('div', {}, el('dt', {}, 'Growth'), el('dd', { 'data-testid': 'alert-growth' }, `${number(rate, 1)} posts/min`)),
      el('div', {}, el('dt', {}, 'Negative'), el('dd', { 'data-testid': 'alert-negative' }, percent(alert.negative_share))),
      el('div', {}, el('dt', {}, 'Age'), el('dd', { 'data-testid': 'alert-age', 'data-since': alert.fired_at }, age(alert.fired_at, now))),
      alert.acknowledged_by ? el('div', {}, el('dt', {}, 'Acknowledged by'), el('dd', {}, alert.acknowledged_by)) : null,
      alert.snoozed_until ? el('div', {}, el('dt', {}, 'Snoozed until'), el('dd', {}, new Date(alert.snoozed_until).toLocaleTimeString())) : null),
    why(alert),
  );
  if (buttons) item.append(buttons);
  return item;
}

export function showAlerts(view) {
  const alerts = new Map();
  const fresh = new Set();
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
    list.replaceChildren(...shown.map((a) => card(a, now, fresh.has(a.story_id), upsert)));
    if (shown.length === 0) list.append(el('li', { class: 'empty', 'data-testid': 'feed-empty' }, 'No alerts to show.'));
    if (focused) list.querySelector(`[data-story-id="${CSS.escape(focused)}"] a`)?.focus();
    fresh.clear();
  }

  // Each change from the stream (or the user's own action) is numbered, so that a list answer
  // never undoes a change made after its request was sent.
  let changes = 0;
  const changedAt = new Map();

  function upsert(alert, { quiet = false } = {}) {
    const before = alerts.get(alert.story_id);
    alerts.set(alert.story_id, alert);
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
        for (const a of body.alerts) if ((changedAt.get(a.story_id) || 0) <= mark) alerts.set(a.story_id, a);
        render();
      })
      .catch((error) => list.replaceChildren(el('li', { class: 'error' }, `Could not load alerts: ${error.message}`)));
  }
  loadList();

  const source = new EventSource(`/api/v1/alerts/stream?token=${encodeURIComponent(session.token)}`);
  let connectedBefore = false;
  source.addEventListener('open', () => {
    status.dataset.state = 'live';
    status.textContent = 'Live';
    // Why a reload on reconnect: the stream replays only its last seconds, so whatever changed
    // while the connection was down would otherwise be missing until the page is reloaded.
    if (connectedBefore) loadList();
    connectedBefore = true;
  });
  source.addEventListener('error', () => { status.dataset.state = 'reconnecting'; status.textContent = 'Reconnecting…'; });
  source.addEventListener('alert', (event) => {
    try { upsert(JSON.parse(event.data)); } catch { /* a malformed event is skipped */ }
  });
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const node of list.querySelectorAll('[data-testid="alert-age"]')) node.textContent = age(node.dataset.since, now);
  }, 15000);
  return () => { source.close(); clearInterval(ticker); };
}
