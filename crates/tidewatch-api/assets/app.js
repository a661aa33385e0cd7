// tidewatch dashboard: sign-in, API access and hash routing. Plain ES modules, no build step.
// The token lives in sessionStorage (this tab only); GET /api/v1/whoami decides the role.
import { showAlerts } from './alerts.js';
import { showStory } from './story.js';
import { showTrends } from './trends.js';
import { showHealth } from './health.js';
import { allZones, browserZone, setZoneChoice, zoneChoice, zoneLabel } from './time.js';

export { when } from './time.js';

const TOKEN_KEY = 'tidewatch.token';
export const session = { token: null, name: null, role: null };
let leaveView = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the API with the session's token; JSON in and out (text when `raw` is set). */
export async function api(path, { method = 'GET', body, raw = false, token = session.token } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch { /* not JSON */ }
    if (response.status === 401 && token === session.token) signOut(message);
    throw new ApiError(response.status, message);
  }
  return raw ? response.text() : response.json();
}

/**
 * `url` when it is an absolute http(s) URL, else null: what may become a link's href. The API
 * already drops other URLs; this is the second line, so a `javascript:` or `data:` URL from a
 * hostile feed can never become a link even if one slipped through.
 */
export function webUrl(url) {
  if (typeof url !== 'string' || /[\s\u0000-\u001f]/.test(url)) return null;
  let parsed;
  try { parsed = new URL(url); } catch { return null; }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  if (!parsed.hostname || !/^https?:\/\//i.test(url)) return null;
  return parsed.href;
}

/**
 * The alert stream's URL with a fresh ticket (POST /api/v1/stream-ticket): the token itself
 * never goes into a URL, where proxies and logs would keep it.
 */
export async function streamUrl() {
  const { ticket } = await api('/api/v1/stream-ticket', { method: 'POST' });
  return `/api/v1/alerts/stream?ticket=${encodeURIComponent(ticket)}`;
}

/** A table that may scroll sideways, reachable and scrollable with the keyboard. */
export function scrollTable(label, table) {
  return el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': label }, table);
}

/** Whether the signed-in role may act on alerts. */
export function canAct() {
  return session.role === 'responder' || session.role === 'admin';
}

/** Makes an element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function announce(message) {
  const region = document.getElementById('announcer');
  region.textContent = '';
  setTimeout(() => { region.textContent = message; }, 50);
}

export function percent(share) {
  return share === null || share === undefined ? '–' : `${Math.round(share * 100)} %`;
}

export function age(iso, now = Date.now()) {
  if (!iso) return '–';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d`;
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * The numbers of a chart as a table, collapsed under the chart: the chart's text alternative.
 * `columns` = [[key, heading, numeric]], `rows` = objects with those keys (already formatted).
 */
export function chartTable(caption, columns, rows, testid) {
  return el('details', { class: 'chart-data', 'data-testid': testid },
    el('summary', {}, `The numbers: ${caption}`),
    el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
      el('table', {},
        el('caption', { class: 'sr-only' }, caption),
        el('thead', {}, el('tr', {}, columns.map(([, heading, numeric]) => el('th', { scope: 'col', class: numeric ? 'num' : null }, heading)))),
        el('tbody', {}, rows.map((row) => el('tr', {}, columns.map(([key, , numeric]) => el('td', { class: numeric ? 'num' : null }, row[key]))))))));
}

/** The zone picker in the header: the browser's zone, UTC, or any named zone; remembered. */
function setUpZonePicker() {
  const select = document.getElementById('zone');
  const label = document.getElementById('zone-label');
  const choice = zoneChoice();
  select.replaceChildren(
    el('option', { value: 'browser', selected: choice === 'browser' }, `Browser zone (${browserZone()})`),
    el('option', { value: 'UTC', selected: choice === 'UTC' }, 'UTC'),
    el('optgroup', { label: 'Named zones' },
      allZones().filter((name) => name !== 'UTC').map((name) => el('option', { value: name, selected: choice === name }, name))));
  const show = () => { label.textContent = zoneLabel(); };
  show();
  select.addEventListener('change', () => {
    setZoneChoice(select.value);
    show();
    route();
  });
}

function showSignIn(message = '') {
  session.token = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  document.getElementById('view').replaceChildren();
  document.getElementById('sign-in').hidden = false;
  document.getElementById('sign-in-error').textContent = message;
  document.getElementById('token').focus();
}

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  if (leaveView) { leaveView(); leaveView = null; }
  showSignIn(message);
}

async function signIn(token) {
  const who = await api('/api/v1/whoami', { token });
  Object.assign(session, { token, name: who.name, role: who.role });
  sessionStorage.setItem(TOKEN_KEY, token);
  document.getElementById('sign-in').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('whoami').textContent = `${who.name} (${who.role})`;
  document.body.dataset.role = who.role;
  // Collector health is for admins: the link is shown only to those who may open it.
  document.querySelector('[data-testid="nav-health"]').closest('li').hidden = who.role !== 'admin';
  route();
}

const routes = [
  [/^#\/stories\/(.+)$/, (match, view) => showStory(view, decodeURIComponent(match[1]))],
  [/^#\/trends$/, (_, view) => showTrends(view)],
  [/^#\/health$/, (_, view) => showHealth(view)],
  [/^(#\/alerts)?$/, (_, view) => showAlerts(view)],
];

function route() {
  if (!session.token) return;
  if (leaveView) { leaveView(); leaveView = null; }
  const hash = location.hash || '#/alerts';
  // Why a fresh container per visit: a view's requests may answer after the user has moved on;
  // they then fill a detached container instead of the page the user is looking at now.
  const view = el('div', { 'data-route': hash });
  document.getElementById('view').replaceChildren(view);
  for (const link of document.querySelectorAll('#nav a')) {
    const current = hash.startsWith(link.getAttribute('href')) ||
      (hash.startsWith('#/stories') && link.getAttribute('href') === '#/alerts');
    if (current) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  for (const [pattern, show] of routes) {
    const match = hash.match(pattern);
    if (match) {
      leaveView = show(match, view) || null;
      return;
    }
  }
  view.append(el('h1', { text: 'Not found' }), el('p', {}, el('a', { href: '#/alerts', text: 'Back to alerts' })));
}

window.addEventListener('hashchange', () => {
  route();
  document.getElementById('main').focus();
});

document.addEventListener('DOMContentLoaded', () => {
  setUpZonePicker();
  document.getElementById('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = document.getElementById('token');
    const button = event.target.querySelector('button');
    button.disabled = true;
    try {
      await signIn(input.value.trim());
      input.value = '';
    } catch (error) {
      document.getElementById('sign-in-error').textContent =
        error.status === 401 ? 'That token was not accepted.' : `Sign-in failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById('sign-out').addEventListener('click', () => signOut());
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch(() => signOut('Your session ended; please sign in again.'));
  else showSignIn();
});
