// The README walkthrough over real HTTP against the BUILT manager, on SQLite and on a fresh MariaDB database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestMysqlDatabase, createTestSqliteFile } from '@taskwire/testkit';
import { api, runToExit, startManagerProcess } from './support/processes.js';
import type { Proc } from './support/processes.js';

interface DbFixture {
  db: { dbType: 'sqlite' | 'mysql'; dsn: string };
  cleanup(): Promise<void>;
}

const MANAGER = 'services/task-manager/dist/main.js';

const databases: Array<[string, () => Promise<DbFixture>]> = [
  [
    'sqlite',
    async () => {
      const f = createTestSqliteFile();
      return { db: { dbType: 'sqlite', dsn: f.file }, cleanup: async () => f.cleanup() };
    },
  ],
  [
    'mariadb',
    async () => {
      const d = await createTestMysqlDatabase();
      return { db: { dbType: 'mysql', dsn: d.dsn }, cleanup: () => d.drop() };
    },
  ],
];

describe.each(databases)('task-manager API walkthrough on %s', (_name, makeDb) => {
  let fixture: DbFixture;
  let manager: Proc;
  let http: ReturnType<typeof api>;

  beforeAll(async () => {
    fixture = await makeDb();
    const started = await startManagerProcess(fixture.db);
    manager = started.proc;
    http = api(started.url);
  });
  afterAll(async () => {
    if (manager) await manager.stop();
    const code = manager ? (await manager.exited).code : 0;
    await fixture?.cleanup();
    expect(code).toBe(0); // SIGTERM stops the manager cleanly
  });

  it('creates a cron template, a valid task, and rejects a task with two bad params listing both', async () => {
    const template = await http.post(`/templates`, {
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
    const shown = await http.get(`/templates/${template.body.id}`);
    expect(shown.body.next_fire_times).toHaveLength(5);

    const task = await http.post(`/tasks`, {
      task_template_id: template.body.id,
      params: { url: 'https://example.org/page' },
    });
    expect(task.status).toBe(201);
    expect(task.body).toMatchObject({
      status: 'QUEUED',
      params: { url: 'https://example.org/page', retries: 1 },
    });

    const bad = await http.post(`/tasks`, {
      template_name: 'fetch-page',
      params: { url: 'not a url', retries: -1 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['/retries', '/url']);

    const events = await http.get(`/tasks/${task.body.id}/events`);
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(['created', 'queued']);
    const list = await http.get(`/tasks?status=QUEUED`);
    expect(list.body.items.map((t: { id: string }) => t.id)).toContain(task.body.id);
  });
});

describe('task-manager configuration', () => {
  it('a bad variable makes the process exit 1 naming it', async () => {
    const { code, output } = await runToExit(MANAGER, { BODY_LIMIT_BYTES: 'huge', DB_TYPE: 'oracle' });
    expect(code).toBe(1);
    expect(output).toContain('BODY_LIMIT_BYTES="huge" is invalid');
    expect(output).toContain('DB_TYPE="oracle" is invalid');
  });

  it('an unreachable database stops start-up with exit 1 and the reason, not a hang', async () => {
    const { code, output } = await runToExit(MANAGER, {
      DB_TYPE: 'mysql',
      DB_DSN: 'mysql://root@127.0.0.1:1/nowhere',
      KAFKA_ENABLED: '0',
      LOG_LEVEL: 'info',
    });
    expect(code).toBe(1);
    expect(output).toContain('task-manager failed to start');
    expect(output).toMatch(/ECONNREFUSED/);
  });
});
