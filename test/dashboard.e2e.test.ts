// The dashboard in real Chromium (Debian's /usr/bin/chromium driven by playwright-core; never a
// downloaded browser) against the BUILT manager, a dev broker and a worker: every page with no
// items and with many, filters and paging, a task arriving live, progress and completion arriving
// live, cancel and retry, disabling a cron, run now, and the sign-in box when tokens are required.
// Saves a screenshot of each page to docs/screenshots/ (the README and docs/ show them).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskResource, TemplateResource } from '@taskwire/contracts';
import {
  api,
  repoRoot,
  startWorkerProcess,
  useProcesses,
  startBrokerProcess,
  waitFor,
} from './support/processes.js';
import { waitForStatus } from './support/tasks.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(repoRoot, 'docs/screenshots');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  process.stderr.write(
    `\n${'!'.repeat(100)}\n!! SKIPPING the dashboard browser tests: ${CHROMIUM} is missing (apt-get install chromium).\n` +
      `!! Set CI=1 to make this a failure.\n${'!'.repeat(100)}\n\n`,
  );
}
// Under CI a missing browser fails (launch names the path); elsewhere the suite is skipped, loudly.
const suite = haveChromium || process.env.CI ? describe : describe.skip;

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A page that records uncaught errors, so a broken script fails the test that loaded it. */
async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('Failed to load resource')) errors.push(m.text());
  });
  return { page, errors };
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(150); // let a transition (progress width, row flash) settle for the picture
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

const mainText = (page: Page) => page.locator('main').innerText();

suite('the dashboard in Chromium, over a manager, a dev broker and a worker', () => {
  const procs = useProcesses('dashboard');
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let base: string;
  let brokers: string;
  let http: ReturnType<typeof api>;
  const templates: Record<string, TemplateResource> = {};

  beforeAll(async () => {
    browser = await launch();
    const broker = await startBrokerProcess(path.join(procs.dir, 'broker'));
    procs.procs.push(broker.proc);
    brokers = broker.brokers;
    const manager = await procs.startManager({
      brokers: broker.brokers,
      env: { WORKER_DEAD_AFTER_MS: '5000' },
    });
    base = manager.url;
    http = api(base);
    ({ page, errors } = await openPage(browser));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  const template = async (body: Record<string, unknown>): Promise<TemplateResource> => {
    const r = await http.post('/templates', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    templates[body.name as string] = r.body as TemplateResource;
    return r.body as TemplateResource;
  };
  const task = async (body: Record<string, unknown>): Promise<TaskResource> => {
    const r = await http.post('/tasks', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as TaskResource;
  };

  it('every page shows its empty state when there is nothing yet', async () => {
    await page.goto(`${base}/ui`);
    await page.getByText('No tasks yet.').waitFor();
    await page.goto(`${base}/ui/tasks`);
    await page.getByText('No tasks yet.').waitFor();
    await shot(page, 'tasks-empty');
    await page.goto(`${base}/ui/templates`);
    await page.getByText('No templates yet.').waitFor();
    await page.goto(`${base}/ui/workers`);
    await page.getByText('No worker has sent a heartbeat yet.').waitFor();
    await page.goto(`${base}/ui/dlq`);
    await page.getByText('No dead letters. Every message was processed.').waitFor();
    await page.goto(`${base}/ui/queues`);
    await page.getByText('No queues yet.').waitFor();
    await page.goto(`${base}/ui/workflows`);
    await page.getByText('No workflows yet.').waitFor();
    await page.goto(`${base}/ui/workflows?status=FAILED`);
    await page.getByText('No workflow matches this filter.').waitFor();
    await page.goto(`${base}/ui/nowhere`);
    await page.getByText('No dashboard page at /ui/nowhere.').waitFor();
    expect(errors).toEqual([]);
  });

  it('with a worker and many tasks: overview, tasks, templates and workers show the real data', async () => {
    const worker = await startWorkerProcess('worker-a', brokers, base, {
      WORKER_QUEUES: 'default,images',
      WORKER_CONCURRENCY: '16',
    });
    procs.procs.push(worker);
    await template({
      name: 'send-email',
      description: 'Sends one transactional email',
      executor: 'echo',
      param_schema: { type: 'object', properties: { to: { type: 'string' } }, required: ['to'] },
      default_params: { to: 'ops@example.com' },
    });
    await template({ name: 'resize-image', executor: 'sleep', queue: 'images', default_params: { ms: 150 } });
    await template({
      name: 'nightly-report',
      executor: 'echo',
      cron_expression: '0 0 3 * * *',
      cron_timezone: 'Europe/Paris',
      default_params: { report: 'daily' },
    });
    await template({ name: 'slow-export', executor: 'sleep', default_params: { ms: 4000, steps: 8 } });
    await template({
      name: 'call-webhook',
      executor: 'http',
      max_attempts: 1,
      default_params: { method: 'POST', url: 'http://127.0.0.1:9/hook' },
    });
    const batch = (name: string, n: number, extra: (i: number) => Record<string, unknown> = () => ({})) =>
      http.post('/tasks/batch', {
        tasks: Array.from({ length: n }, (_, i) => ({ template_name: name, ...extra(i) })),
      });
    expect((await batch('send-email', 70, (i) => ({ params: { to: `user${i}@example.com` } }))).status).toBe(
      200,
    );
    expect((await batch('resize-image', 30)).status).toBe(200);
    expect((await batch('call-webhook', 6)).status).toBe(200);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect((await batch('send-email', 8, () => ({ run_at: later }))).status).toBe(200);
    await waitFor('the seeded tasks to finish', async () => {
      const active = await http.get('/tasks?status=QUEUED,RUNNING,RETRYING&limit=1');
      return active.body.items.length === 0;
    });
    const pending = (await http.get('/tasks?status=PENDING&limit=3')).body.items as TaskResource[];
    for (const t of pending.slice(0, 2)) expect((await http.post(`/tasks/${t.id}/cancel`)).status).toBe(200);

    // Overview: real counts by queue and status, finished this hour, the worker.
    await page.goto(`${base}/ui`);
    await page.locator('table.grid td a', { hasText: 'images' }).waitFor();
    const overview = await http.get('/stats/overview');
    const completed = overview.body.per_minute.reduce(
      (n: number, m: { completed: number }) => n + m.completed,
      0,
    );
    expect(completed).toBe(100);
    const cards = await page.locator('.card').allInnerTexts();
    expect(cards.find((c) => c.startsWith('COMPLETED'))).toContain('100');
    expect(cards.find((c) => c.startsWith('FAILED'))).toContain('6');
    expect(cards.find((c) => c.startsWith('WORKERS'))).toContain('1');
    expect(await page.locator('.bar-ok').count()).toBe(60);
    await shot(page, 'overview');

    // Tasks: 50 per page, newest first, a second page, filters.
    await page.goto(`${base}/ui/tasks`);
    await page.locator('table.tasks tbody tr').first().waitFor();
    expect(await page.locator('table.tasks tbody tr').count()).toBe(50);
    await shot(page, 'tasks');
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('page 2').waitFor();
    expect(await page.locator('table.tasks tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.locator('.pager', { hasText: '50 shown' }).waitFor();

    await page.selectOption('select[name=status]', 'FAILED');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=FAILED/);
    await waitFor('6 FAILED rows', async () => (await page.locator('table.tasks tbody tr').count()) === 6);
    expect(new Set(await page.locator('table.tasks tbody td .badge').allInnerTexts())).toEqual(
      new Set(['FAILED']),
    );
    await page.goto(`${base}/ui/tasks?queue=images`);
    await page.locator('table.tasks tbody tr').first().waitFor();
    expect(await page.locator('table.tasks tbody tr').count()).toBe(30);
    await page.goto(`${base}/ui/tasks?template_id=${templates['send-email']!.id}&status=CANCELED`);
    await waitFor('2 CANCELED rows', async () => (await page.locator('table.tasks tbody tr').count()) === 2);
    await page.goto(`${base}/ui/tasks?status=TIMED_OUT`);
    await page.getByText('No task matches these filters.').waitFor();

    // Templates: schema, defaults, cron with its next fire times.
    await page.goto(`${base}/ui/templates`);
    const cron = page.locator('section.template', { hasText: 'nightly-report' });
    await cron.waitFor();
    expect(await cron.locator('ul.fires li').count()).toBeGreaterThan(0);
    expect(await cron.innerText()).toContain('0 0 3 * * * (Europe/Paris)');
    await shot(page, 'templates');

    // Workers: alive, queues, executors, concurrency.
    await page.goto(`${base}/ui/workers`);
    const row = page.locator('tr', { hasText: 'worker-a' });
    await row.waitFor();
    const text = await row.innerText();
    expect(text).toContain('alive');
    expect(text).toContain('images');
    expect(text).toContain('sleep');
    expect(text).toContain('0 / 16');
    await shot(page, 'workers');
    expect(errors).toEqual([]);
  });

  it('a task created through the API appears in the list without a reload', async () => {
    await page.goto(`${base}/ui/tasks`);
    await page.locator('table.tasks tbody tr').first().waitFor();
    await page.locator('#live:not(.off)').waitFor();
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const t = await task({
      template_name: 'send-email',
      name: 'welcome-mail',
      params: { to: 'new@example.com' },
    });
    const row = page.locator(`tr[data-id="${t.id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('welcome-mail');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    // …and its row follows the task to COMPLETED.
    await page.locator(`tr[data-id="${t.id}"] .badge`, { hasText: 'COMPLETED' }).waitFor();
    expect(errors).toEqual([]);
  });

  it("a sleep task's progress, log lines and completion arrive live on its page", async () => {
    const t = await task({ template_name: 'slow-export' });
    await page.goto(`${base}/ui/tasks/${t.id}`);
    await page.locator('main h1 .badge', { hasText: 'RUNNING' }).waitFor();
    await page.locator('ol.events .progress').first().waitFor();
    await page
      .locator('code.log', { hasText: /slept \d+ of 4000 ms/ })
      .first()
      .waitFor();
    const bar = page.locator('main > div > .progress');
    await bar.waitFor();
    await page.locator('ol.events li.ev-progress', { hasText: 'step 3 of 8' }).waitFor();
    await shot(page, 'task-detail');
    await page.locator('main h1 .badge', { hasText: 'COMPLETED' }).waitFor({ timeout: 20_000 });
    await page.locator('pre.json', { hasText: '"slept_ms": 4000' }).waitFor();
    const attempts = await page.locator('section.panel', { hasText: 'Attempts' }).innerText();
    expect(attempts).toContain('worker-a');
    expect(await page.locator('ol.events li.ev-progress').count()).toBe(8);
    expect(errors).toEqual([]);
  });

  it('cancel a running task from its page, then retry it', async () => {
    const t = await task({ template_name: 'slow-export', params: { ms: 60_000, steps: 60 } });
    await page.goto(`${base}/ui/tasks/${t.id}`);
    await page.locator('main h1 .badge', { hasText: 'RUNNING' }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('main h1 .badge', { hasText: 'CANCELED' }).waitFor({ timeout: 20_000 });
    expect((await http.get(`/tasks/${t.id}`)).body.status).toBe('CANCELED');
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('main h1 .badge', { hasText: /QUEUED|RUNNING/ }).waitFor();
    await waitFor('attempt 2', async () => (await http.get(`/tasks/${t.id}`)).body.attempt === 2);
    await page.locator('main h1 .badge', { hasText: 'RUNNING' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await waitForStatus(http, t.id, ['CANCELED']);
    // A finished task cannot be cancelled: the API's 409 is shown, not swallowed.
    const done = await task({ template_name: 'send-email' });
    await waitForStatus(http, done.id, ['COMPLETED']);
    await page.goto(`${base}/ui/tasks/${done.id}`);
    await page.locator('main h1 .badge', { hasText: 'COMPLETED' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
  });

  it("disable a template's cron and run a template now from the Templates page", async () => {
    await page.goto(`${base}/ui/templates`);
    const cron = page.locator('section.template', { hasText: 'nightly-report' });
    await cron.getByRole('button', { name: 'Disable' }).click();
    await cron.locator('.badge', { hasText: 'disabled' }).waitFor();
    expect(await cron.innerText()).toContain('paused while disabled');
    expect((await http.get(`/templates/${templates['nightly-report']!.id}`)).body.enabled).toBe(false);

    await page
      .locator('section.template', { hasText: 'send-email' })
      .getByRole('button', { name: 'Run now' })
      .click();
    await page.waitForURL(/\/ui\/tasks\/[0-9A-Z]{26}$/);
    const id = page.url().split('/').pop()!;
    const created = (await http.get(`/tasks/${id}`)).body as TaskResource;
    expect(created.template_id).toBe(templates['send-email']!.id);
    expect(created.params).toEqual({ to: 'ops@example.com' });
    await page.locator('main h1 .badge', { hasText: 'COMPLETED' }).waitFor({ timeout: 20_000 });
    expect(errors).toEqual([]);
  });

  it("the Queues page shows each queue's counts and pauses and resumes a queue", async () => {
    const queue = async (name: string) =>
      ((await http.get('/queues')).body.items as { name: string; paused: boolean; waiting: number }[]).find(
        (q) => q.name === name,
      );
    await page.goto(`${base}/ui/queues`);
    const images = page.locator('tr[data-queue="images"]');
    await images.waitFor();
    await page.locator('tr[data-queue="default"]').waitFor();
    expect(await images.innerText()).toContain('no limit');
    await page.locator('#nav a.active', { hasText: 'Queues' }).waitFor();

    await images.getByRole('button', { name: 'Pause' }).click();
    await images.locator('.badge', { hasText: 'PAUSED' }).waitFor();
    expect((await queue('images'))?.paused).toBe(true);
    // New tasks of a paused queue wait, and the page counts them.
    const held = await http.post('/tasks/batch', {
      tasks: Array.from({ length: 3 }, () => ({ template_name: 'resize-image' })),
    });
    expect(held.status).toBe(200);
    await waitFor('3 WAITING in images', async () => (await queue('images'))?.waiting === 3);
    await images.locator('td.waiting', { hasText: /^3$/ }).waitFor();
    await shot(page, 'queues');

    await images.getByRole('button', { name: 'Resume' }).click();
    await images.getByRole('button', { name: 'Pause' }).waitFor();
    expect((await queue('images'))?.paused).toBe(false);
    await waitFor('the held tasks to run', async () => (await queue('images'))?.waiting === 0);

    // max_in_flight: set, shown, cleared (empty = no limit).
    await images.getByLabel('Max in flight for images').fill('4');
    await images.getByRole('button', { name: 'Set' }).click();
    await images.locator('td.limit > span', { hasText: /^4$/ }).waitFor();
    expect(
      ((await http.get('/queues')).body.items as { name: string; max_in_flight: number | null }[]).find(
        (q) => q.name === 'images',
      )?.max_in_flight,
    ).toBe(4);
    await images.getByLabel('Max in flight for images').fill('');
    await images.getByRole('button', { name: 'Set' }).click();
    await images.locator('td.limit', { hasText: 'no limit' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('the Workflows page lists a workflow and its detail shows the steps running to COMPLETED', async () => {
    const created = await http.post('/workflows', {
      name: 'diamond',
      steps: [
        { key: 'fetch', template_name: 'send-email' },
        { key: 'left', template_name: 'resize-image', depends_on: ['fetch'] },
        { key: 'right', template_name: 'resize-image', depends_on: ['fetch'] },
        { key: 'join', template_name: 'send-email', depends_on: ['left', 'right'] },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await page.goto(`${base}/ui/workflows`);
    const row = page.locator(`tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('diamond');
    await row.locator('a').click();
    await page.waitForURL(new RegExp(`/ui/workflows/${id}$`));
    const join = page.locator('tr[data-step="join"]');
    await join.waitFor();
    expect(await join.locator('td.deps').innerText()).toMatch(/left\s*right/);
    await page.locator('main h1 .badge', { hasText: 'COMPLETED' }).waitFor({ timeout: 20_000 });
    for (const key of ['fetch', 'left', 'right', 'join'])
      await page.locator(`tr[data-step="${key}"] .badge`, { hasText: 'COMPLETED' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Retry' }).isDisabled()).toBe(true);
    await shot(page, 'workflow-detail');
    // A step's task page links back to its workflow.
    await join.locator('a').click();
    await page.waitForURL(/\/ui\/tasks\/[0-9A-Z]{26}$/);
    const back = page.locator('dl.facts a', { hasText: id });
    await back.waitFor();
    expect(await page.locator('dl.facts').innerText()).toContain('step join');
    await back.click();
    await page.locator('tr[data-step="join"]').waitFor();
    await page.goto(`${base}/ui/workflows?status=COMPLETED`);
    await row.waitFor();
    await shot(page, 'workflows');
    expect(errors).toEqual([]);
  });

  it('cancel a running workflow from its page, then retry it', async () => {
    const created = await http.post('/workflows', {
      name: 'long-one',
      steps: [{ key: 'export', template_name: 'slow-export', params: { ms: 60_000, steps: 60 } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await page.goto(`${base}/ui/workflows/${id}`);
    await page.locator('tr[data-step="export"] .badge', { hasText: 'RUNNING' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('main h1 .badge', { hasText: 'CANCELED' }).waitFor();
    expect((await http.get(`/workflows/${id}`)).body.status).toBe('CANCELED');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('main h1 .badge', { hasText: 'RUNNING' }).waitFor();
    expect((await http.get(`/workflows/${id}`)).body.status).toBe('RUNNING');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('main h1 .badge', { hasText: 'CANCELED' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('a poison dispatch dead-lettered by the worker shows on the Dead letters page; replaying it as-is is refused there', async () => {
    const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, clientId: 'e2e-dashboard' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'task_execution_requests',
      messages: [{ key: 'poison', value: 'this is not JSON' }],
    });
    await producer.disconnect();
    await waitFor(
      'the poison message in GET /dlq',
      async () => (await http.get('/dlq')).body.items?.length > 0,
    );
    await page.goto(`${base}/ui/dlq`);
    const letter = page.locator('section.dlq').first();
    await letter.waitFor();
    const text = await letter.innerText();
    expect(text).toContain('task_execution_requests.dlq');
    expect(text).toContain('task_execution_requests');
    expect(text).toContain('never replayed');
    await letter.locator('summary').click();
    expect(await letter.locator('textarea').inputValue()).toBe('this is not JSON');
    await shot(page, 'dlq');
    await letter.getByRole('button', { name: 'Replay' }).click();
    await letter.locator('.error-box').waitFor();
    expect(errors.filter((e) => !e.includes('status of 4'))).toEqual([]);
    errors.length = 0;
  });

  it('deep links load on reload, assets are cached by ETag, and the CSP allows no inline code', async () => {
    const res = await page.goto(`${base}/ui/tasks?status=FAILED`);
    expect(res?.status()).toBe(200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await page.locator('table.tasks tbody tr').first().waitFor();
    await page.reload();
    await page.locator('table.tasks tbody tr').first().waitFor();
    const first = await fetch(`${base}/ui/assets/app.js`);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${base}/ui/assets/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${base}/ui/assets/missing.js`)).status).toBe(404);
    expect(errors).toEqual([]);
  });
});

suite('the dashboard with API tokens', () => {
  const procs = useProcesses('dashboard-auth');
  const READ = 'read-dashboard-0123456789';
  const WRITE = 'write-dashboard-0123456789';
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    browser = await launch();
    const manager = await procs.startManager({ env: { API_TOKENS: `read:${READ},write:${WRITE}` } });
    base = manager.url;
    expect((await api(base, WRITE).post('/templates', { name: 'guarded', executor: 'echo' })).status).toBe(
      201,
    );
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('asks for a token on the first 401, refuses a wrong one, and loads the page with the right one', async () => {
    const { page, errors } = await openPage(browser);
    const res = await page.goto(`${base}/ui/workers`);
    expect(res?.status()).toBe(200); // the page itself needs no token
    const dialog = page.locator('dialog#signin');
    await dialog.waitFor();
    await shot(page, 'signin');
    await page.fill('#token', 'wrong-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await dialog.getByText('The token was refused: unknown bearer token').waitFor();
    await page.fill('#token', READ);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No worker has sent a heartbeat yet.').waitFor();
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { localStorage: { getItem(key: string): string | null } }
        ).localStorage.getItem('taskwire.token'),
      ),
    ).toBe(READ);
    // Kept for the next visit: no prompt.
    await page.goto(`${base}/ui`);
    await page.locator('.card').first().waitFor();
    expect(await dialog.isVisible()).toBe(false);
    expect(await mainText(page)).toContain('Overview');
    // A read token sees everything but cannot act: the API's 403 is shown where the button is.
    await page.goto(`${base}/ui/templates`);
    const card = page.locator('section.template', { hasText: 'guarded' });
    await card.getByRole('button', { name: 'Run now' }).click();
    await card.locator('.error-box', { hasText: 'needs a token with scope "write"' }).waitFor();
    expect((await api(base, READ).get('/tasks')).body.items).toEqual([]);
    // …nor pause a queue (write) nor set its limit (admin).
    await page.goto(`${base}/ui/queues`);
    const queue = page.locator('tr[data-queue="default"]');
    await queue.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.error-box', { hasText: 'needs a token with scope "write"' }).waitFor();
    await queue.getByLabel('Max in flight for default').fill('3');
    await queue.getByRole('button', { name: 'Set' }).click();
    await page.locator('.error-box', { hasText: 'needs a token with scope "admin"' }).waitFor();
    expect((await api(base, READ).get('/queues')).body.items[0]).toMatchObject({
      name: 'default',
      paused: false,
      max_in_flight: null,
    });
    expect(errors).toEqual([]);
  });
});
