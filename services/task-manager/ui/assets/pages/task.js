// Task detail: params, result or error, the attempts timeline, the events (progress as a bar, log
// lines) arriving live from the task's own stream, and the cancel / retry buttons.
import { api, subscribe } from '../api.js';
import { badge, duration, empty, errorBox, h, json, link, time } from '../util.js';

const TERMINAL = ['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED'];

export async function taskPage({ main, params, setLive, isCurrent }) {
  const [id] = params;
  const view = h('div');
  main.append(view);
  let task;
  let history;
  const load = async () => {
    [task, history] = await Promise.all([
      api(`/tasks/${encodeURIComponent(id)}`),
      api(`/tasks/${encodeURIComponent(id)}/events`),
    ]);
  };
  try {
    await load();
  } catch (err) {
    view.replaceChildren(h('p', link('/ui/tasks', '← Tasks')), errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  let template = null;
  api(`/templates/${encodeURIComponent(task.template_id)}`).then(
    (t) => {
      template = t;
      draw();
    },
    () => {},
  );

  const note = h('div.notice', { hidden: true });
  const act = async (what) => {
    note.hidden = true;
    try {
      task = await api(`/tasks/${encodeURIComponent(id)}/${what}`, { method: 'POST' });
      history = await api(`/tasks/${encodeURIComponent(id)}/events`);
      draw();
      if (what === 'retry') follow();
    } catch (err) {
      note.hidden = false;
      note.replaceChildren(errorBox(err));
    }
  };

  const draw = () => {
    const events = history.items;
    const lastProgress = [...events].reverse().find((e) => e.type === 'progress');
    const cancelable = !TERMINAL.includes(task.status);
    view.replaceChildren(
      h('p.crumbs', link('/ui/tasks', 'Tasks'), ' / ', h('span.mono', task.id)),
      h(
        'div.page-head',
        h('h1', task.name, ' ', badge(task.status)),
        h(
          'div.actions',
          h(
            'button.danger',
            {
              onclick: () => act('cancel'),
              disabled: !cancelable,
              title: cancelable ? 'Cancel this task' : 'Already finished',
            },
            'Cancel',
          ),
          h(
            'button',
            {
              onclick: () => act('retry'),
              disabled: !['FAILED', 'TIMED_OUT', 'CANCELED'].includes(task.status),
              title: 'Run it again as a new attempt',
            },
            'Retry',
          ),
        ),
      ),
      note,
      h(
        'dl.facts',
        fact('Template', template ? template.name : task.template_id),
        fact('Queue', task.queue),
        task.workflow_id
          ? fact(
              'Workflow',
              h(
                'span',
                link(`/ui/workflows/${task.workflow_id}`, h('span.mono', task.workflow_id)),
                task.step_key ? [' · step ', h('span.mono', task.step_key)] : null,
              ),
            )
          : null,
        fact('Attempt', `${task.attempt} of ${task.max_attempts}`),
        fact('Trigger', task.trigger),
        fact('Worker', task.worker_id ?? '—'),
        fact('Created', time(task.created_at)),
        fact('Started', time(task.started_at)),
        fact('Finished', time(task.finished_at)),
        fact('Timeout', duration(task.timeout_ms)),
      ),
      lastProgress && !TERMINAL.includes(task.status) ? progress(lastProgress.data) : null,
      h(
        'div.two',
        h('section.panel', h('h2', 'Params'), json(task.params)),
        h(
          'section.panel',
          task.error
            ? [
                h('h2', 'Error'),
                h('p.error', `${task.error.type ?? ''} ${task.error.message ?? ''}`),
                json(task.error),
              ]
            : [
                h('h2', 'Result'),
                task.result === null || task.result === undefined
                  ? h('p.muted', TERMINAL.includes(task.status) ? 'No result.' : 'Not finished yet.')
                  : json(task.result),
              ],
        ),
      ),
      h('section.panel', h('h2', 'Attempts'), attempts(history.attempts)),
      h('section.panel', h('h2', 'Events ', h('span.muted', `(${events.length})`)), eventList(events)),
    );
  };
  draw();

  let stop = () => {};
  const follow = () => {
    stop();
    if (TERMINAL.includes(task.status)) return;
    const seen = new Set(history.items.map((e) => e.id));
    let pending = null;
    stop = subscribe(`/tasks/${encodeURIComponent(id)}/events/stream`, {
      onState: setLive,
      onEvent: (e) => {
        if (!e.data || seen.has(e.data.id)) return;
        seen.add(e.data.id);
        history.items.push(e.data);
        draw();
        // Status, result and attempts come from the task and its summary: re-read them, coalesced.
        pending ??= setTimeout(async () => {
          pending = null;
          try {
            await load();
            if (isCurrent()) draw();
          } catch {
            /* the next event tries again */
          }
        }, 150);
      },
      onEnd: () => load().then(draw, () => {}),
    });
  };
  follow();
  return () => stop();
}

function fact(name, value) {
  return [h('dt', name), h('dd', value)];
}

function progress(data) {
  const pct = Math.max(0, Math.min(100, Number(data?.pct ?? 0)));
  const fill = h('div.progress-fill');
  fill.style.width = `${pct}%`;
  return h(
    'div.progress',
    { role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 },
    fill,
    h('span.progress-label', `${pct.toFixed(0)}%${data?.message ? ` · ${data.message}` : ''}`),
  );
}

function attempts(list) {
  if (!list.length) return empty('No attempt has started yet.');
  return h(
    'table.grid',
    h(
      'thead',
      h(
        'tr',
        ['#', 'Worker', 'Queued', 'Started', 'Finished', 'Duration', 'Outcome', 'Error'].map((c) =>
          h('th', c),
        ),
      ),
    ),
    h(
      'tbody',
      list.map((a) =>
        h(
          'tr',
          h('td.num', String(a.attempt)),
          h('td.mono', a.worker_id ?? '—'),
          h('td', time(a.queued_at)),
          h('td', time(a.started_at)),
          h('td', time(a.finished_at)),
          h('td', timeline(a)),
          h(
            'td',
            a.outcome
              ? badge(a.outcome === 'succeeded' ? 'COMPLETED' : a.outcome.toUpperCase())
              : h('span.muted', 'running'),
          ),
          h('td.error', a.error ? `${a.error.type ?? ''}: ${a.error.message ?? ''}` : ''),
        ),
      ),
    ),
  );
}

function timeline(a) {
  const d = duration(a.duration_ms);
  return a.executions > 1 ? `${d} (${a.executions} runs)` : d;
}

function eventList(events) {
  if (!events.length) return empty('No events.');
  return h(
    'ol.events',
    [...events]
      .reverse()
      .map((e) =>
        h(
          `li.ev-${e.type}`,
          h('span.ev-time', time(e.at)),
          h('span.ev-type', e.type),
          h('span.muted', `#${e.attempt}`),
          e.type === 'progress'
            ? progress(e.data)
            : e.type === 'log'
              ? h('code.log', e.data?.line ?? '')
              : e.data && Object.keys(e.data).length
                ? h('code.ev-data', JSON.stringify(e.data))
                : null,
          e.worker_id ? h('span.muted.mono', e.worker_id) : null,
        ),
      ),
  );
}
