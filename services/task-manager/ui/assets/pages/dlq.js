// Dead letters: GET /dlq (newest first, paged) with each message's topic, partition, offset, time,
// reason, source topic and body, and replay (POST /dlq/replay) with an optional edited body.
import { ApiError, api, qs } from '../api.js';
import { empty, errorBox, h, time } from '../util.js';

export async function dlqPage({ main, query, navigate, isCurrent }) {
  const body = h('div');
  main.append(
    h(
      'div.page-head',
      h('h1', 'Dead letters'),
      h('span.muted', 'messages the workers or the manager could not process'),
    ),
    body,
  );
  const cursor = query.get('cursor') ?? '';
  let page;
  try {
    page = await api(`/dlq${qs({ cursor, limit: 50 })}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code !== 'not_found_item') {
      body.replaceChildren(empty('This manager does not serve GET /dlq.', h('p.muted', err.message)));
    } else body.replaceChildren(errorBox(err));
    return;
  }
  if (!isCurrent()) return;
  const items = page.items ?? [];
  if (!items.length) {
    body.replaceChildren(empty('No dead letters. Every message was processed.'));
    return;
  }
  body.replaceChildren(
    h(
      'div.list',
      items.map((m) => item(m)),
    ),
    h(
      'div.pager',
      h('span'),
      h('span.muted', `${items.length} shown`),
      page.next_cursor
        ? h('button', { onclick: () => navigate(`/ui/dlq${qs({ cursor: page.next_cursor })}`) }, 'Older →')
        : h('span'),
    ),
  );
}

function item(m) {
  const original =
    m.message !== undefined && m.message !== null ? JSON.stringify(m.message, null, 2) : (m.raw ?? '');
  const editor = h('textarea.mono', {
    rows: Math.min(16, original.split('\n').length + 1),
    spellcheck: 'false',
    'aria-label': 'Message body',
  });
  editor.value = original;
  const note = h('div');
  const replay = async () => {
    note.replaceChildren();
    const target = { topic: m.topic, partition: m.partition, offset: m.offset };
    let edited;
    if (editor.value !== original) {
      try {
        edited = JSON.parse(editor.value);
      } catch (err) {
        note.replaceChildren(errorBox(new Error(`the edited message is not JSON: ${err.message}`)));
        return;
      }
    }
    try {
      await api('/dlq/replay', {
        method: 'POST',
        body: edited === undefined ? target : { ...target, message: edited },
      });
      note.replaceChildren(h('p.ok', `Replayed to ${m.source_topic ?? 'its source topic'}.`));
    } catch (err) {
      note.replaceChildren(errorBox(err));
    }
  };
  return h(
    'section.panel.dlq',
    h(
      'div.page-head',
      h('h2.mono', `${m.topic} [${m.partition}] @ ${m.offset}`),
      h('div.actions', h('button.primary', { onclick: replay }, 'Replay')),
    ),
    h(
      'dl.facts',
      [h('dt', 'Reason'), h('dd.error', m.reason ?? '—')],
      [h('dt', 'Source topic'), h('dd.mono', m.source_topic ?? '—')],
      [h('dt', 'Dead-lettered'), h('dd', time(m.time ?? m.timestamp))],
      m.key ? [h('dt', 'Key'), h('dd.mono', m.key)] : null,
      [
        h('dt', 'Replays'),
        h(
          'dd',
          m.replays?.length
            ? [
                `${m.replays.length}, last `,
                time(m.replays[m.replays.length - 1].at),
                ` to ${m.replays[m.replays.length - 1].target_topic}`,
              ]
            : h('span.muted', 'never replayed'),
        ),
      ],
      m.truncated
        ? [
            h('dt', 'Size'),
            h(
              'dd.error',
              `${m.size_bytes} bytes: only the first 1 MiB was kept, a replay needs an edited message`,
            ),
          ]
        : null,
    ),
    h(
      'details',
      h(
        'summary',
        m.message !== undefined && m.message !== null
          ? 'Message (JSON, editable before replay)'
          : 'Message (raw: not JSON)',
      ),
      editor,
    ),
    note,
  );
}
