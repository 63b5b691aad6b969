// Tasks: filters (status, template, queue, created from/to) kept in the URL, cursor paging, and
// new tasks arriving live from /events/stream without a reload.
import { api, qs, subscribe } from '../api.js';
import { STATUSES, badge, empty, errorBox, h, link, short, time, pagerControls } from '../util.js';

const LIMIT = 50;
/** Events that change a task's row (status or attempt). */
const CHANGES = new Set([
  'waiting',
  'queued',
  'started',
  'succeeded',
  'failed',
  'retry_scheduled',
  'canceled',
  'timed_out',
  'updated',
]);

export async function tasksPage({ main, query, navigate, setLive, isCurrent }) {
  const f = {
    status: query.get('status') ?? '',
    template_id: query.get('template_id') ?? '',
    queue: query.get('queue') ?? '',
    created_from: query.get('created_from') ?? '',
    created_to: query.get('created_to') ?? '',
  };
  const cursors = (query.get('cursor') ?? '').split('~').filter(Boolean); // the page stack, for Back
  const templates = await api('/templates').then(
    (r) => r.items,
    () => [],
  );
  if (!isCurrent()) return;
  const names = new Map(templates.map((t) => [t.id, t.name]));

  const go = (patch) => {
    const next = { ...f, ...patch };
    navigate(`/ui/tasks${qs(next)}`);
  };
  const form = filters(f, templates, go);
  const table = h('div');
  const pager = h('div.pager');
  main.append(h('div.page-head', h('h1', 'Tasks'), h('span.muted', 'newest first')), form, table, pager);

  let page;
  try {
    page = await api(
      `/tasks${qs({ ...f, status: f.status, limit: LIMIT, cursor: cursors[cursors.length - 1] })}`,
    );
  } catch (err) {
    table.replaceChildren(errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const rows = new Map();
  const tbody = h('tbody');
  const row = (t) => {
    const tr = h(
      'tr',
      { dataset: { id: t.id } },
      h('td.mono', link(`/ui/tasks/${t.id}`, short(t.id))),
      h('td', t.name),
      h('td', names.get(t.template_id) ?? h('span.muted', short(t.template_id))),
      h('td', t.queue),
      h('td', badge(t.status)),
      h('td.num', `${t.attempt}/${t.max_attempts}`),
      h('td', time(t.created_at)),
      h('td', time(t.finished_at ?? t.started_at)),
    );
    rows.set(t.id, tr);
    return tr;
  };
  for (const t of page.items) tbody.append(row(t));
  const grid = h(
    'table.grid.tasks',
    h(
      'thead',
      h(
        'tr',
        ['Id', 'Name', 'Template', 'Queue', 'Status', 'Attempt', 'Created', 'Started / finished'].map((c) =>
          h('th', c),
        ),
      ),
    ),
    tbody,
  );
  const none = empty(
    Object.values(f).some(Boolean) ? 'No task matches these filters.' : 'No tasks yet.',
    h('p.muted', 'New tasks appear here as they are created.'),
  );
  table.replaceChildren(page.items.length ? h('div.table-wrap', grid) : none);
  pager.append(...pagerControls(page, cursors, go));

  // Live: events only say "something changed"; the page itself is re-read, at most once a second
  // however busy the system, so a browser never sends a request per task. The first page takes new
  // tasks (flashed); on any page the rows shown follow their tasks' status.
  const url = `/tasks${qs({ ...f, limit: LIMIT, cursor: cursors[cursors.length - 1] })}`;
  let timer = null;
  let running = false;
  const reread = async () => {
    timer = null;
    if (running) return schedule();
    running = true;
    try {
      const fresh = await api(url);
      if (!isCurrent()) return;
      const before = new Set(rows.keys());
      rows.clear();
      tbody.replaceChildren(
        ...fresh.items.map((t) => {
          const tr = row(t);
          if (!before.has(t.id)) tr.classList.add('new');
          return tr;
        }),
      );
      if (fresh.items.length && !grid.isConnected) table.replaceChildren(h('div.table-wrap', grid));
    } catch {
      /* the next event tries again */
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    timer ??= setTimeout(reread, 1000);
  };
  const stop = subscribe(
    `/events/stream${qs({ template_id: f.template_id, queue: f.queue, type: [...CHANGES, 'created'].join(',') })}`,
    {
      onState: setLive,
      onEvent: (e) => {
        const id = e.data?.task_id;
        if (!id) return;
        if (e.type === 'created' ? cursors.length === 0 : rows.has(id)) schedule();
      },
    },
  );
  return () => {
    stop();
    clearTimeout(timer);
  };
}

function filters(f, templates, go) {
  const status = h(
    'select',
    { name: 'status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s, selected: f.status === s }, s)),
  );
  if (f.status && !STATUSES.includes(f.status))
    status.append(h('option', { value: f.status, selected: true }, f.status));
  const template = h(
    'select',
    { name: 'template_id', 'aria-label': 'Template' },
    h('option', { value: '' }, 'Any template'),
    templates.map((t) => h('option', { value: t.id, selected: f.template_id === t.id }, t.name)),
  );
  const queue = h('input', {
    name: 'queue',
    placeholder: 'Any queue',
    value: f.queue,
    'aria-label': 'Queue',
    size: 12,
  });
  const local = (iso) =>
    iso
      ? new Date(new Date(iso).getTime() - new Date(iso).getTimezoneOffset() * 60000)
          .toISOString()
          .slice(0, 16)
      : '';
  const fromInput = h('input', {
    type: 'datetime-local',
    name: 'created_from',
    value: local(f.created_from),
    'aria-label': 'Created from',
  });
  const toInput = h('input', {
    type: 'datetime-local',
    name: 'created_to',
    value: local(f.created_to),
    'aria-label': 'Created to',
  });
  const iso = (v) => (v ? new Date(v).toISOString() : '');
  return h(
    'form.filters',
    {
      onsubmit: (e) => {
        e.preventDefault();
        go({
          status: status.value,
          template_id: template.value,
          queue: queue.value.trim(),
          created_from: iso(fromInput.value),
          created_to: iso(toInput.value),
          cursor: '',
        });
      },
    },
    status,
    template,
    queue,
    h('label', 'From ', fromInput),
    h('label', 'To ', toInput),
    h('button.primary', { type: 'submit' }, 'Apply'),
    h('a', { href: '/ui/tasks', 'data-link': '' }, 'Clear'),
  );
}
