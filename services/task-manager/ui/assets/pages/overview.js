// Overview: tasks by queue and status, completed/failed per minute over the last hour, workers,
// outbox backlog and the workers' consumer lag; refreshed every 5 s.
import { api } from '../api.js';
import { STATUSES, badge, empty, errorBox, h, link, time } from '../util.js';

export async function overviewPage({ main, isCurrent }) {
  const body = h('div');
  main.append(h('div.page-head', h('h1', 'Overview'), h('span.muted.updated')), body);
  const load = async () => {
    try {
      const o = await api('/stats/overview');
      if (!isCurrent()) return;
      body.replaceChildren(...render(o));
      main.querySelector('.updated').replaceChildren('Updated ', time(o.at));
    } catch (err) {
      if (isCurrent()) body.replaceChildren(errorBox(err));
    }
  };
  await load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

function render(o) {
  const total = (s) => o.counts.filter((c) => c.status === s).reduce((n, c) => n + c.count, 0);
  const hour = o.per_minute.reduce((a, m) => ({ c: a.c + m.completed, f: a.f + m.failed }), { c: 0, f: 0 });
  const lag = o.consumer_lag;
  return [
    h(
      'div.cards',
      card('Running', total('RUNNING'), 'tasks', link('/ui/tasks?status=RUNNING', 'view')),
      card(
        'Queued',
        total('QUEUED') + total('WAITING') + total('PENDING') + total('RETRYING'),
        'waiting',
        link('/ui/tasks?status=QUEUED,WAITING,PENDING,RETRYING', 'view'),
      ),
      card('Completed', hour.c, 'last hour'),
      card('Failed', hour.f, 'last hour', link('/ui/tasks?status=FAILED', 'view'), hour.f > 0 ? 'bad' : ''),
      card(
        'Workers',
        o.workers.alive,
        o.workers.dead ? `alive · ${o.workers.dead} dead` : 'alive',
        link('/ui/workers', 'view'),
        o.workers.alive === 0 ? 'warn' : '',
      ),
      card('Outbox', o.outbox_backlog, 'unpublished', null, o.outbox_backlog > 1000 ? 'warn' : ''),
      card(
        'Consumer lag',
        lag === null ? '—' : lag.reduce((n, l) => n + l.lag, 0),
        lag === null ? 'Kafka not readable' : 'messages',
      ),
    ),
    h('section.panel', h('h2', 'Finished per minute (last hour)'), chart(o.per_minute)),
    h(
      'div.two',
      h('section.panel', h('h2', 'Tasks by queue and status'), countsTable(o.counts)),
      h('section.panel', h('h2', 'Consumer lag per queue'), lagTable(lag)),
    ),
  ];
}

function card(title, value, unit, action, tone = '') {
  return h(
    `div.card${tone ? `.${tone}` : ''}`,
    h('div.card-title', title),
    h('div.card-value', String(value)),
    h('div.card-unit', unit, action ? ' · ' : '', action),
  );
}

function chart(minutes) {
  const max = Math.max(1, ...minutes.map((m) => m.completed + m.failed));
  const bars = minutes.map((m) => {
    const ok = h('div.bar-ok');
    const bad = h('div.bar-bad');
    ok.style.height = `${(m.completed / max) * 100}%`;
    bad.style.height = `${(m.failed / max) * 100}%`;
    const when = new Date(m.minute);
    return h(
      'div.bar',
      {
        title: `${when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${m.completed} completed, ${m.failed} failed`,
      },
      bad,
      ok,
    );
  });
  return h(
    'div.chart-wrap',
    h('div.chart-axis', h('span', String(max)), h('span', '0')),
    h(
      'div',
      h('div.chart', bars),
      h(
        'div.chart-legend',
        h('span', '60 min ago'),
        h('span', h('i.key-ok'), ' completed  ', h('i.key-bad'), ' failed'),
        h('span', 'now'),
      ),
    ),
  );
}

function countsTable(counts) {
  if (counts.length === 0)
    return empty(
      'No tasks yet.',
      h('p.muted', 'Create one from a template on the ', link('/ui/templates', 'Templates'), ' page.'),
    );
  const queues = [...new Set(counts.map((c) => c.queue))];
  const present = STATUSES.filter((s) => counts.some((c) => c.status === s));
  const cell = (q, s) => counts.find((c) => c.queue === q && c.status === s)?.count ?? 0;
  return h(
    'table.grid',
    h(
      'thead',
      h(
        'tr',
        h('th', 'Queue'),
        present.map((s) => h('th.num', badge(s))),
      ),
    ),
    h(
      'tbody',
      queues.map((q) =>
        h(
          'tr',
          h('td', link(`/ui/tasks?queue=${encodeURIComponent(q)}`, q)),
          present.map((s) => {
            const n = cell(q, s);
            return h(
              'td.num',
              n
                ? link(`/ui/tasks?queue=${encodeURIComponent(q)}&status=${s}`, n.toLocaleString())
                : h('span.muted', '0'),
            );
          }),
        ),
      ),
    ),
  );
}

function lagTable(lag) {
  if (lag === null) return empty('Consumer lag is not available: Kafka is off or did not answer.');
  if (lag.length === 0) return empty('No dispatch topics yet.');
  return h(
    'table.grid',
    h('thead', h('tr', h('th', 'Queue'), h('th.num', 'Lag (messages)'))),
    h(
      'tbody',
      lag.map((l) => h('tr', h('td', l.queue), h('td.num', l.lag.toLocaleString()))),
    ),
  );
}
