// DOM and formatting helpers shared by every page: element builder, relative times, status badges.

/** h('div.card', {title: 'x', onclick}, child, 'text', [more]) → an element; text is never parsed as HTML. */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const node = document.createElement(name || 'div');
  if (classes.length) node.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'value') node.value = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : String(c));
  }
}

const UNITS = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago" / "in 2 hours". */
export function relative(iso, now = Date.now()) {
  if (!iso) return '—';
  const s = (new Date(iso).getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(s) >= size || unit === 'second') return rtf.format(Math.round(s / size), unit);
  }
  return '';
}

/** The exact time as the user's locale writes it, plus UTC. */
export function exact(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.toLocaleString()} (${d.toISOString()})`;
}

/** A <time> showing the relative time, the exact one on hover; refreshed by tick(). */
export function time(iso) {
  if (!iso) return h('span.muted', '—');
  return h('time', { datetime: iso, title: exact(iso), 'data-rel': '' }, relative(iso));
}

/** Re-renders every relative time on the page (called every 15 s). */
export function tick() {
  for (const t of document.querySelectorAll('time[data-rel]'))
    t.textContent = relative(t.getAttribute('datetime'));
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const STATUSES = [
  'PENDING',
  'WAITING',
  'QUEUED',
  'RUNNING',
  'RETRYING',
  'COMPLETED',
  'FAILED',
  'TIMED_OUT',
  'CANCELED',
];

export function badge(status) {
  return h(`span.badge.s-${String(status).toLowerCase()}`, String(status));
}

export function json(value) {
  return h('pre.json', JSON.stringify(value, null, 2));
}

export function empty(text, ...more) {
  return h('div.empty', h('p', text), ...more);
}

export function errorBox(err) {
  return h('div.error-box', { role: 'alert' }, h('strong', 'Error: '), err?.message ?? String(err));
}

/**
 * Newer / Older buttons of a cursor-paged list. `cursors` is the stack of cursors that led to this
 * page (kept in the URL, `~`-joined); `go` navigates with new query values.
 */
export function pagerControls(page, cursors, go) {
  return [
    cursors.length
      ? h('button', { onclick: () => go({ cursor: cursors.slice(0, -1).join('~') }) }, '← Newer')
      : h('span'),
    h('span.muted', `${page.items.length} shown${cursors.length ? ` · page ${cursors.length + 1}` : ''}`),
    page.next_cursor
      ? h('button', { onclick: () => go({ cursor: [...cursors, page.next_cursor].join('~') }) }, 'Older →')
      : h('span'),
  ];
}

export function link(href, ...children) {
  return h('a', { href, 'data-link': '' }, ...children);
}

export function short(id) {
  return id && id.length > 12 ? `${id.slice(0, 6)}…${id.slice(-4)}` : id;
}
