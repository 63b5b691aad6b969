// The README walkthrough over real HTTP against the BUILT manager, on SQLite and on a fresh MariaDB database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestMysqlDatabase, createTestSqliteFile } from '@taskwire/testkit';
import { http, runManagerToExit, startManagerProcess } from './helpers/manager-process.js';
import type { ManagerDb, ManagerProcess } from './helpers/manager-process.js';

interface DbFixture {
  db: ManagerDb;
  cleanup(): Promise<void>;
}

const databases: Array<[string, () => Promise<DbFixture>]> = [
  [
    'sqlite',
    async () => {
      const f = createTestSqliteFile();
      return { db: { type: 'sqlite', file: f.file }, cleanup: async () => f.cleanup() };
    },
  ],
  [
    'mariadb',
    async () => {
      const d = await createTestMysqlDatabase();
      return { db: { type: 'mysql', dsn: d.dsn }, cleanup: () => d.drop() };
    },
  ],
];

describe.each(databases)('task-manager API walkthrough on %s', (_name, makeDb) => {
  let fixture: DbFixture;
  let manager: ManagerProcess;

  beforeAll(async () => {
    fixture = await makeDb();
    manager = await startManagerProcess({ db: fixture.db });
  });
  afterAll(async () => {
    const code = manager ? await manager.stop() : 0;
    await fixture?.cleanup();
    expect(code).toBe(0); // SIGTERM stops the manager cleanly
  });

  it('creates a cron template, a valid task, and rejects a task with two bad params listing both', async () => {
    const template = await http(`${manager.url}/templates`, 'POST', {
      name: 'fetch-page',
      executor: 'echo',
      param_schema: {
        type: 'object',
        properties: { url: { type: 'string', format: 'uri' }, retries: { type: 'integer', minimum: 0 } },
        required: ['url'],
      },
      default_params: { url: 'https://example.com', retries: 1 },
      cron_expression: '0 */5 * * * *',
      cron_timezone: 'Europe/Paris',
    });
    expect(template.status).toBe(201);
    const shown = await http(`${manager.url}/templates/${template.body.id}`, 'GET');
    expect(shown.body.next_fire_times).toHaveLength(5);

    const task = await http(`${manager.url}/tasks`, 'POST', {
      task_template_id: template.body.id,
      params: { url: 'https://example.org/page' },
    });
    expect(task.status).toBe(201);
    expect(task.body).toMatchObject({
      status: 'QUEUED',
      params: { url: 'https://example.org/page', retries: 1 },
    });

    const bad = await http(`${manager.url}/tasks`, 'POST', {
      template_name: 'fetch-page',
      params: { url: 'not a url', retries: -1 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['/retries', '/url']);

    const events = await http(`${manager.url}/tasks/${task.body.id}/events`, 'GET');
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(['created', 'queued']);
    const list = await http(`${manager.url}/tasks?status=QUEUED`, 'GET');
    expect(list.body.items.map((t: { id: string }) => t.id)).toContain(task.body.id);
  });
});

describe('task-manager configuration', () => {
  it('a bad variable makes the process exit 1 naming it', async () => {
    const { code, output } = await runManagerToExit({ BODY_LIMIT_BYTES: 'huge', DB_TYPE: 'oracle' });
    expect(code).toBe(1);
    expect(output).toContain('BODY_LIMIT_BYTES="huge" is invalid');
    expect(output).toContain('DB_TYPE="oracle" is invalid');
  });
});
