// Times with their zone. The user picks the zone (the browser's, UTC or any named zone); the
// choice is remembered in localStorage; every time on the page is shown in it, with its name.
const ZONE_KEY = 'tidewatch.zone';

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** 'browser', 'UTC' or an IANA zone name, as the user chose it. */
export function zoneChoice() {
  try { return localStorage.getItem(ZONE_KEY) || 'browser'; } catch { return 'browser'; }
}

export function setZoneChoice(choice) {
  try { localStorage.setItem(ZONE_KEY, choice); } catch { /* private mode: this page only */ }
}

/** The IANA name of the zone times are shown in. */
export function zone() {
  const choice = zoneChoice();
  if (choice === 'browser') return browserZone();
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: choice });
    return choice;
  } catch {
    return browserZone();
  }
}

/** The zone's short name at `ms` (e.g. "EST", "UTC", "GMT+5:30"). */
export function zoneAbbreviation(ms = Date.now(), timeZone = zone()) {
  const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' })
    .formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName');
  return part ? part.value : timeZone;
}

/** What the header says: "America/New_York (EST)" or "UTC". */
export function zoneLabel() {
  const name = zone();
  const short = zoneAbbreviation();
  return name === 'UTC' || short === name ? name : `${name} (${short})`;
}

/** Every zone the browser knows (for the picker). */
export function allZones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['UTC']; }
}

function format(ms, options) {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone(), ...options }).format(new Date(ms));
}

/** A full time with date and zone, e.g. "Dec 7, 2026, 7:18 PM EST". */
export function when(iso) {
  if (!iso) return '–';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return format(ms, { dateStyle: 'medium', timeStyle: 'short' }) + ` ${zoneAbbreviation(ms)}`;
}

/** A clock time with the zone, for today's events. */
export function clock(iso) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '–';
  return `${format(ms, { hour: '2-digit', minute: '2-digit' })} ${zoneAbbreviation(ms)}`;
}

/**
 * An axis label: a date on axes that span days (with the time unless the step is a day), the
 * time on shorter ones, seconds under ten minutes.
 */
export function axisLabel(ms, spanMs, stepMs = 0) {
  if (spanMs >= 86400e3 || stepMs >= 86400e3) {
    if (stepMs >= 86400e3 || spanMs > 10 * 86400e3) return format(ms, { month: 'short', day: 'numeric' });
    return format(ms, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }
  if (spanMs < 10 * 60e3) return format(ms, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return format(ms, { hour: '2-digit', minute: '2-digit' });
}

/** A bucket's start, in full, for tables and tooltips. */
export function bucketLabel(ms, stepMs = 0) {
  if (stepMs >= 86400e3) return format(ms, { dateStyle: 'medium' });
  return format(ms, { dateStyle: 'medium', timeStyle: 'short' });
}
