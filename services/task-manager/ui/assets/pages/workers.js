// Workers: every worker seen, alive or dead (from its last heartbeat), its queues, executors,
// concurrency, running tasks and last heartbeat; refreshed every 5 s.
import { api } from '../api.js';
import { empty, errorBox, h, time } from '../util.js';

export async function workersPage({ main, isCurrent }) {
  const body = h('div');
  main.append(h('div.page-head', h('h1', 'Workers')), body);
  const load = async () => {
    try {
      const { items } = await api('/workers');
      if (!isCurrent()) return;
      body.replaceChildren(render(items));
    } catch (err) {
      if (isCurrent()) body.replaceChildren(errorBox(err));
    }
  };
  await load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

function render(items) {
  if (!items.length)
    return empty(
      'No worker has sent a heartbeat yet.',
      h('p.muted', 'Start one with `npm run start:worker` or the task-worker image.'),
    );
  const sorted = [...items].sort((a, b) => Number(b.alive) - Number(a.alive) || (a.id < b.id ? -1 : 1));
  return h(
    'div.table-wrap',
    h(
      'table.grid',
      h(
        'thead',
        h(
          'tr',
          [
            'Worker',
            'State',
            'Host / pid',
            'Queues',
            'Executors',
            'Running',
            'Version',
            'Started',
            'Last seen',
          ].map((c) => h('th', c)),
        ),
      ),
      h(
        'tbody',
        sorted.map((w) => {
          const load = h('div.meter');
          const fill = h('div.meter-fill');
          fill.style.width = `${w.concurrency ? Math.min(100, (w.running / w.concurrency) * 100) : 0}%`;
          load.append(fill);
          return h(
            `tr${w.alive ? '' : '.dead'}`,
            h('td.mono', w.id),
            h('td', h(`span.badge.${w.alive ? 's-completed' : 's-failed'}`, w.alive ? 'alive' : 'dead')),
            h('td.mono', `${w.host} / ${w.pid}`),
            h(
              'td',
              w.queues.map((q) => h('span.chip', q)),
            ),
            h(
              'td',
              w.executors.map((e) => h('span.chip', e)),
            ),
            h('td', h('div.running', `${w.running} / ${w.concurrency}`, load)),
            h('td.mono', w.version),
            h('td', time(w.started_at)),
            h('td', time(w.last_seen)),
          );
        }),
      ),
    ),
  );
}
