// Queues: every queue from GET /queues with its WAITING / QUEUED / RUNNING counts, max_in_flight,
// paused and the workers' lag; Pause / Resume (write scope) and max_in_flight (admin scope), the
// API's refusal shown beside the queue; refreshed every 3 s.
import { api } from '../api.js';
import { badge, empty, errorBox, h } from '../util.js';

export async function queuesPage({ main, isCurrent }) {
  const body = h('div');
  const note = h('div');
  main.append(
    h('div.page-head', h('h1', 'Queues'), h('span.muted', 'admission: what waits, what runs, the limits')),
    note,
    body,
  );
  // A limit being typed survives the refresh: rows are not rebuilt while one of its fields has focus.
  let editing = false;
  // Only the latest read is drawn: a refresh that started before a Pause must not undo it on screen.
  let reads = 0;
  const load = async () => {
    const n = ++reads;
    try {
      const { items } = await api('/queues');
      if (!isCurrent() || editing || n !== reads) return;
      body.replaceChildren(render(items, act));
    } catch (err) {
      if (isCurrent() && n === reads) body.replaceChildren(errorBox(err));
    }
  };
  const act = async (queue, what, init) => {
    note.replaceChildren();
    try {
      await api(`/queues/${encodeURIComponent(queue)}${what}`, init);
    } catch (err) {
      note.replaceChildren(h('div.notice', errorBox(err)));
    }
    editing = false;
    await load();
  };
  body.addEventListener('focusin', (e) => {
    if (e.target.matches('input')) editing = true;
  });
  body.addEventListener('focusout', (e) => {
    if (e.target.matches('input')) editing = false;
  });
  await load();
  const timer = setInterval(load, 3000);
  return () => clearInterval(timer);
}

function render(items, act) {
  if (!items.length)
    return empty('No queues yet.', h('p.muted', 'A queue appears once a template or a task names it.'));
  return h(
    'div.table-wrap',
    h(
      'table.grid.queues',
      h(
        'thead',
        h(
          'tr',
          ['Queue', 'State', 'Waiting', 'Queued', 'Running', 'Max in flight', 'Worker lag', ''].map((c) =>
            h('th', c),
          ),
        ),
      ),
      h(
        'tbody',
        items.map((q) => {
          const limit = h('input', {
            type: 'number',
            min: 1,
            name: 'max_in_flight',
            placeholder: 'limit',
            'aria-label': `Max in flight for ${q.name}`,
            size: 6,
          });
          const setLimit = h(
            'form.inline',
            {
              onsubmit: (e) => {
                e.preventDefault();
                const v = limit.value.trim();
                act(q.name, '', { method: 'PUT', body: { max_in_flight: v === '' ? null : Number(v) } });
              },
            },
            limit,
            h('button', { type: 'submit' }, 'Set'),
          );
          return h(
            'tr',
            { dataset: { queue: q.name } },
            h('td.mono', q.name),
            h('td', q.paused ? badge('PAUSED') : h('span.badge.s-completed', 'active')),
            h('td.num.waiting', String(q.waiting)),
            h('td.num.queued', String(q.queued)),
            h('td.num.running', String(q.running)),
            h(
              'td.limit',
              q.max_in_flight === null ? h('span.muted', 'no limit') : h('span', String(q.max_in_flight)),
              ' ',
              setLimit,
            ),
            h('td.num', q.lag === null ? h('span.muted', 'unknown') : String(q.lag)),
            h(
              'td',
              q.paused
                ? h('button.primary', { onclick: () => act(q.name, '/resume', { method: 'POST' }) }, 'Resume')
                : h('button.danger', { onclick: () => act(q.name, '/pause', { method: 'POST' }) }, 'Pause'),
            ),
          );
        }),
      ),
    ),
  );
}
