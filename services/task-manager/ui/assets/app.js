// The dashboard's shell: client-side routes (each page its own URL under /ui), the sign-in box shown
// on a 401, the live indicator and the relative-time ticker.
import { onUnauthorized, token } from './api.js';
import { errorBox, h, tick } from './util.js';
import { overviewPage } from './pages/overview.js';
import { tasksPage } from './pages/tasks.js';
import { taskPage } from './pages/task.js';
import { templatesPage } from './pages/templates.js';
import { workersPage } from './pages/workers.js';
import { dlqPage } from './pages/dlq.js';
import { queuesPage } from './pages/queues.js';
import { workflowPage, workflowsPage } from './pages/workflows.js';

/** [pattern, nav key, page]; a page is (ctx) => cleanup | undefined and renders into ctx.main. */
const ROUTES = [
  [/^\/ui\/?$/, 'overview', overviewPage],
  [/^\/ui\/tasks\/?$/, 'tasks', tasksPage],
  [/^\/ui\/tasks\/([^/]+)\/?$/, 'tasks', taskPage],
  [/^\/ui\/queues\/?$/, 'queues', queuesPage],
  [/^\/ui\/workflows\/?$/, 'workflows', workflowsPage],
  [/^\/ui\/workflows\/([^/]+)\/?$/, 'workflows', workflowPage],
  [/^\/ui\/templates\/?$/, 'templates', templatesPage],
  [/^\/ui\/workers\/?$/, 'workers', workersPage],
  [/^\/ui\/dlq\/?$/, 'dlq', dlqPage],
];

const main = document.getElementById('main');
let cleanup = null;
let generation = 0;

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  render();
}

async function render() {
  const gen = ++generation;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page's cleanup must not block the next one */
    }
    cleanup = null;
  }
  setLive(false);
  const path = location.pathname;
  const match = ROUTES.map(([re, nav, page]) => [re.exec(path), nav, page]).find(([m]) => m);
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.nav === match?.[1]);
  main.replaceChildren();
  if (!match) {
    main.append(h('section', h('h1', 'Not found'), h('p', `No dashboard page at ${path}.`)));
    return;
  }
  const [m, , page] = match;
  try {
    const result = await page({
      main,
      params: m.slice(1).map(decodeURIComponent),
      query: new URLSearchParams(location.search),
      navigate,
      setLive,
      isCurrent: () => gen === generation,
    });
    if (gen === generation) cleanup = result ?? null;
    else result?.();
  } catch (err) {
    if (gen !== generation) return;
    main.replaceChildren(errorBox(err));
  }
}

export function setLive(on) {
  const live = document.getElementById('live');
  live.classList.toggle('off', !on);
  live.title = on ? 'Live: updates arrive as they happen' : 'Not live';
}

// Links marked data-link navigate without a reload.
document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[data-link]');
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

// ---- sign in: asked for on the first 401; every waiting call resumes with the token ----
const dialog = document.getElementById('signin');
const form = document.getElementById('signin-form');
const input = document.getElementById('token');
const problem = document.getElementById('signin-error');
const signout = document.getElementById('signout');
let pending = null;

onUnauthorized((err) => {
  if (!pending) {
    pending = new Promise((resolve) => {
      const hadToken = token.get() !== null;
      token.clear();
      problem.hidden = !hadToken;
      problem.textContent = hadToken ? `The token was refused: ${err.message}` : '';
      input.value = '';
      form.onsubmit = (e) => {
        e.preventDefault();
        const t = input.value.trim();
        if (!t) return;
        token.set(t);
        dialog.close();
        signout.hidden = false;
        pending = null;
        resolve();
      };
      if (!dialog.open) dialog.showModal();
      input.focus();
    });
  }
  return pending;
});
dialog.addEventListener('cancel', (e) => e.preventDefault()); // Escape cannot skip it
signout.hidden = token.get() === null;
signout.addEventListener('click', () => {
  token.clear();
  signout.hidden = true;
  render();
});

setInterval(tick, 15_000);
render();
