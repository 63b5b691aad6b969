// Workflows: the list (status filter in the URL, cursor paging like Tasks) and one workflow's page
// (status, on_failure, timing, its steps with their dependencies and task links, Cancel / Retry),
// refreshed every 2 s while the workflow runs.
import { api, qs } from '../api.js';
import { badge, duration, empty, errorBox, h, link, short, time, pagerControls } from '../util.js';

const LIMIT = 50;
const STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'];

export async function workflowsPage({ main, query, navigate, isCurrent }) {
  const f = { status: query.get('status') ?? '' };
  const cursors = (query.get('cursor') ?? '').split('~').filter(Boolean); // the page stack, for Back
  const go = (patch) => navigate(`/ui/workflows${qs({ ...f, ...patch })}`);
  const status = h(
    'select',
    { name: 'status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s, selected: f.status === s }, s)),
  );
  const form = h(
    'form.filters',
    {
      onsubmit: (e) => {
        e.preventDefault();
        go({ status: status.value, cursor: '' });
      },
    },
    status,
    h('button.primary', { type: 'submit' }, 'Apply'),
    h('a', { href: '/ui/workflows', 'data-link': '' }, 'Clear'),
  );
  const table = h('div');
  const pager = h('div.pager');
  main.append(h('div.page-head', h('h1', 'Workflows'), h('span.muted', 'newest first')), form, table, pager);

  const url = `/workflows${qs({ ...f, limit: LIMIT, cursor: cursors[cursors.length - 1] })}`;
  let page;
  try {
    page = await api(url);
  } catch (err) {
    table.replaceChildren(errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const draw = (items) => {
    if (!items.length) {
      table.replaceChildren(
        empty(
          f.status ? 'No workflow matches this filter.' : 'No workflows yet.',
          h('p.muted', 'Create one with POST /workflows or from a workflow template.'),
        ),
      );
      return;
    }
    table.replaceChildren(
      h(
        'div.table-wrap',
        h(
          'table.grid.workflows',
          h(
            'thead',
            h(
              'tr',
              ['Id', 'Name', 'Status', 'Steps done', 'On failure', 'Created', 'Finished'].map((c) =>
                h('th', c),
              ),
            ),
          ),
          h(
            'tbody',
            items.map((w) =>
              h(
                'tr',
                { dataset: { id: w.id } },
                h('td.mono', link(`/ui/workflows/${w.id}`, short(w.id))),
                h('td', w.name),
                h('td', badge(w.status)),
                h('td.num', `${w.steps_completed} / ${w.steps_total}`),
                h('td', w.on_failure),
                h('td', time(w.created_at)),
                h('td', time(w.finished_at)),
              ),
            ),
          ),
        ),
      ),
    );
  };
  draw(page.items);
  pager.append(...pagerControls(page, cursors, go));
  // Statuses change without an event stream for workflows: the page shown is re-read every 3 s.
  const timer = setInterval(async () => {
    try {
      const fresh = await api(url);
      if (isCurrent()) draw(fresh.items);
    } catch {
      /* the next tick tries again */
    }
  }, 3000);
  return () => clearInterval(timer);
}

export async function workflowPage({ main, params, isCurrent }) {
  const [id] = params;
  const view = h('div');
  main.append(view);
  const path = `/workflows/${encodeURIComponent(id)}`;
  let wf;
  try {
    wf = await api(path);
  } catch (err) {
    view.replaceChildren(h('p', link('/ui/workflows', '← Workflows')), errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const note = h('div.notice', { hidden: true });
  // Bumped by every read and action: a refresh that started before a Cancel must not undo it on screen.
  let version = 0;
  const act = async (what) => {
    note.hidden = true;
    version++;
    try {
      wf = await api(`${path}/${what}`, { method: 'POST' });
      draw();
    } catch (err) {
      note.hidden = false;
      note.replaceChildren(errorBox(err));
    }
  };
  const draw = () => {
    view.replaceChildren(
      h('p.crumbs', link('/ui/workflows', 'Workflows'), ' / ', h('span.mono', wf.id)),
      h(
        'div.page-head',
        h('h1', wf.name, ' ', badge(wf.status)),
        h(
          'div.actions',
          h(
            'button.danger',
            {
              onclick: () => act('cancel'),
              disabled: wf.status !== 'RUNNING',
              title: wf.status === 'RUNNING' ? 'Cancel every unfinished step' : 'Already finished',
            },
            'Cancel',
          ),
          h(
            'button',
            {
              onclick: () => act('retry'),
              disabled: !['FAILED', 'CANCELED'].includes(wf.status),
              title: 'Run the failed and canceled steps again; completed steps are kept',
            },
            'Retry',
          ),
        ),
      ),
      note,
      h(
        'dl.facts',
        fact('On failure', wf.on_failure),
        fact('Steps', `${wf.steps_completed} completed, ${wf.steps_finished} finished of ${wf.steps_total}`),
        fact('Created', time(wf.created_at)),
        fact('Finished', time(wf.finished_at)),
        wf.workflow_template_id ? fact('Workflow template', h('span.mono', wf.workflow_template_id)) : null,
      ),
      h('section.panel', h('h2', 'Steps ', h('span.muted', `(${wf.steps.length})`)), steps(wf.steps)),
    );
  };
  draw();
  // Refreshed while anything can still change; a finished workflow is re-read only after a retry.
  const timer = setInterval(async () => {
    if (wf.status !== 'RUNNING' && wf.steps.every((s) => FINISHED.includes(s.status))) return;
    const mine = ++version;
    try {
      const fresh = await api(path);
      if (!isCurrent() || mine !== version) return;
      wf = fresh;
      draw();
    } catch {
      /* the next tick tries again */
    }
  }, 2000);
  return () => clearInterval(timer);
}

const FINISHED = ['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED'];

function fact(name, value) {
  return [h('dt', name), h('dd', value)];
}

function steps(list) {
  if (!list.length) return empty('No steps.');
  const took = (s) =>
    s.started_at && s.finished_at
      ? duration(new Date(s.finished_at).getTime() - new Date(s.started_at).getTime())
      : '—';
  return h(
    'table.grid.steps',
    h(
      'thead',
      h(
        'tr',
        [
          'Step',
          'Status',
          'Depends on',
          'Task',
          'Attempt',
          'Queued',
          'Started',
          'Finished',
          'Duration',
          'Error',
        ].map((c) => h('th', c)),
      ),
    ),
    h(
      'tbody',
      list.map((s) =>
        h(
          'tr',
          { dataset: { step: s.key } },
          h('td.mono', s.key),
          h('td', badge(s.status)),
          h(
            'td.deps',
            s.depends_on.length ? s.depends_on.map((d) => h('span.chip', d)) : h('span.muted', '—'),
          ),
          h('td.mono', link(`/ui/tasks/${s.task_id}`, short(s.task_id))),
          h('td.num', String(s.attempt)),
          h('td', time(s.queued_at)),
          h('td', time(s.started_at)),
          h('td', time(s.finished_at)),
          h('td', took(s)),
          h('td.error', s.error ? `${s.error.type ?? ''}: ${s.error.message ?? ''}` : ''),
        ),
      ),
    ),
  );
}
