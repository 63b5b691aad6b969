// Templates: executor, queue, cron with its next fire times, enable/disable, "run now" (a task with
// the default params), and the param schema and defaults of each.
import { api } from '../api.js';
import { empty, errorBox, h, json, link, time } from '../util.js';

export async function templatesPage({ main, navigate, isCurrent }) {
  const body = h('div');
  main.append(h('div.page-head', h('h1', 'Templates')), body);
  const load = async () => {
    let items;
    try {
      items = (await api('/templates')).items;
      // next_fire_times is on the single-template read only: one request per cron template.
      const details = await Promise.all(
        items.map((t) => (t.cron_expression ? api(`/templates/${t.id}`).catch(() => t) : t)),
      );
      items = details;
    } catch (err) {
      body.replaceChildren(errorBox(err));
      return;
    }
    if (!isCurrent()) return;
    if (!items.length) {
      body.replaceChildren(
        empty('No templates yet.', h('p.muted', 'Create one with POST /templates (see the README).')),
      );
      return;
    }
    body.replaceChildren(
      h(
        'div.list',
        items.map((t) => card(t)),
      ),
    );
  };

  const card = (t) => {
    const note = h('div');
    const toggle = async () => {
      try {
        await api(`/templates/${t.id}`, { method: 'PUT', body: { enabled: !t.enabled } });
        await load();
      } catch (err) {
        note.replaceChildren(errorBox(err));
      }
    };
    const run = async () => {
      try {
        const task = await api('/tasks', { method: 'POST', body: { task_template_id: t.id } });
        navigate(`/ui/tasks/${task.id}`);
      } catch (err) {
        note.replaceChildren(errorBox(err));
      }
    };
    return h(
      `section.panel.template${t.enabled ? '' : '.disabled'}`,
      { dataset: { id: t.id, name: t.name } },
      h(
        'div.page-head',
        h(
          'h2',
          t.name,
          ' ',
          h(`span.badge.${t.enabled ? 's-completed' : 's-canceled'}`, t.enabled ? 'enabled' : 'disabled'),
        ),
        h(
          'div.actions',
          h('button.primary', { onclick: run, title: 'Create a task with the default params' }, 'Run now'),
          h('button', { onclick: toggle }, t.enabled ? 'Disable' : 'Enable'),
        ),
      ),
      t.description ? h('p', t.description) : null,
      note,
      h(
        'dl.facts',
        [h('dt', 'Executor'), h('dd.mono', t.executor)],
        [h('dt', 'Queue'), h('dd', t.queue)],
        [
          h('dt', 'Attempts'),
          h(
            'dd',
            `${t.max_attempts}, backoff ${t.backoff.initial_ms} ms ×${t.backoff.factor} ≤ ${t.backoff.max_ms} ms`,
          ),
        ],
        [h('dt', 'Timeout'), h('dd', `${t.timeout_ms} ms`)],
        [
          h('dt', 'Cron'),
          h(
            'dd',
            t.cron_expression
              ? h('code', t.cron_expression, t.cron_timezone ? ` (${t.cron_timezone})` : ' (UTC)')
              : h('span.muted', 'none'),
          ),
        ],
        t.cron_expression
          ? [
              h('dt', 'Next fires'),
              h(
                'dd',
                !t.enabled
                  ? h('span.muted', 'paused while disabled')
                  : t.next_fire_times?.length
                    ? h(
                        'ul.fires',
                        t.next_fire_times.map((f) =>
                          h('li', time(f), h('span.muted', ` · ${new Date(f).toLocaleString()}`)),
                        ),
                      )
                    : h('span.muted', 'none'),
              ),
            ]
          : null,
        [h('dt', 'Tasks'), h('dd', link(`/ui/tasks?template_id=${encodeURIComponent(t.id)}`, 'view tasks'))],
        [h('dt', 'Updated'), h('dd', time(t.updated_at))],
      ),
      h(
        'details',
        h('summary', 'Param schema and defaults'),
        h(
          'div.two',
          h(
            'div',
            h('h3', 'param_schema'),
            t.param_schema ? json(t.param_schema) : h('p.muted', 'none: any params'),
          ),
        ),
        h('div', h('h3', 'default_params'), t.default_params ? json(t.default_params) : h('p.muted', 'none')),
      ),
    );
  };
  await load();
}
