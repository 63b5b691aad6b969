// API authentication over real HTTP against the BUILT manager: tokens from API_TOKENS and API_TOKENS_FILE,
// 401/403/2xx by scope, and the refusal to serve beyond loopback without tokens.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSqliteFile } from '@taskwire/testkit';
import { api, runToExit, startManagerProcess, tempDir, waitFor } from './support/processes.js';
import type { Proc } from './support/processes.js';

const MANAGER = 'services/task-manager/dist/main.js';
const READ = 'e2e-read-0123456789abcdef';
const WRITE = 'e2e-write-0123456789abcdef';
const ADMIN = 'e2e-admin-0123456789abcdef';

describe('a manager with API_TOKENS and API_TOKENS_FILE', () => {
  const db = createTestSqliteFile();
  const dir = tempDir('auth');
  let manager: Proc;
  let url: string;

  beforeAll(async () => {
    const file = path.join(dir.dir, 'tokens');
    writeFileSync(file, `# the operators\nadmin:${ADMIN}\n`);
    const started = await startManagerProcess({
      dbType: 'sqlite',
      dsn: db.file,
      // info: the access log of every request below is in the output checked for leaked tokens.
      env: { API_TOKENS: `read:${READ},write:${WRITE}`, API_TOKENS_FILE: file, LOG_LEVEL: 'info' },
    });
    manager = started.proc;
    url = started.url;
  });
  afterAll(async () => {
    await manager?.stop();
    db.cleanup();
    dir.cleanup();
  });

  it('answers the probes without a token and everything else with 401 and a Bearer challenge', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    for (const p of ['/tasks', '/templates', '/workers', '/openapi.json']) {
      const res = await fetch(`${url}${p}`);
      expect(res.status, p).toBe(401);
      expect(res.headers.get('www-authenticate'), p).toBe('Bearer realm="taskwire"');
      expect(((await res.json()) as { error: { code: string } }).error.code, p).toBe('unauthorized');
    }
    const wrong = await api(url, 'e2e-wrong-0123456789abcdef').get('/tasks');
    expect(wrong.status).toBe(401);
  });

  it('lets read read, write create and cancel, and admin (from the file) do the rest', async () => {
    const read = api(url, READ);
    const write = api(url, WRITE);
    const admin = api(url, ADMIN);

    expect((await read.get('/tasks')).status).toBe(200);
    const denied = await read.post('/templates', { name: 'e2e-denied', executor: 'echo' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'forbidden', details: { required_scope: 'write' } });

    const template = await write.post('/templates', { name: 'e2e-echo', executor: 'echo' });
    expect(template.status).toBe(201);
    const shell = await write.post('/templates', { name: 'e2e-shell', executor: 'shell' });
    expect(shell.status).toBe(403);
    expect(shell.body.error.message).toContain('executor "shell"');
    const task = await write.post('/tasks', { template_name: 'e2e-echo' });
    expect(task.status).toBe(201);
    expect((await read.get(`/tasks/${task.body.id}`)).body.status).toBe('QUEUED');
    expect((await write.put(`/tasks/${task.body.id}`, { result: { by: 'write' } })).status).toBe(403);
    expect((await write.post('/admin/scheduler/refresh')).status).toBe(403);

    expect((await admin.post('/admin/scheduler/refresh')).status).toBe(202);
    expect((await admin.put(`/tasks/${task.body.id}`, { result: { by: 'admin' } })).status).toBe(200);
    expect((await admin.post('/templates', { name: 'e2e-shell', executor: 'shell' })).status).toBe(201);
    expect((await write.post(`/tasks/${task.body.id}/cancel`)).body.status).toBe('CANCELED');
  });

  it('never writes a token to its log', async () => {
    await waitFor('access log lines', () => manager.output().includes('/admin/scheduler/refresh'));
    for (const token of [READ, WRITE, ADMIN]) expect(manager.output()).not.toContain(token);
  });
});

describe('a manager without tokens', () => {
  it('serves loopback with authentication off, and logs a warning saying so', async () => {
    const db = createTestSqliteFile();
    const { proc, url } = await startManagerProcess({ dbType: 'sqlite', dsn: db.file });
    try {
      expect((await api(url).get('/tasks')).status).toBe(200);
      await waitFor('the warning', () => proc.output().includes('authentication is off'));
    } finally {
      await proc.stop();
      db.cleanup();
    }
  });

  it.each([':0', '0.0.0.0:0'])(
    'refuses SERVER_ADDR=%s: exits 1 with the reason before opening the database',
    async (addr) => {
      const dir = tempDir('auth-refuse');
      const dsn = path.join(dir.dir, 'never.db');
      try {
        const { code, output } = await runToExit(MANAGER, {
          SERVER_ADDR: addr,
          DB_DSN: dsn,
          KAFKA_ENABLED: '0',
        });
        expect(code).toBe(1);
        expect(output).toContain(
          `refusing to start: SERVER_ADDR=${JSON.stringify(addr)} listens beyond loopback`,
        );
        expect(output).toContain('AUTH_DISABLED=1');
        expect(existsSync(dsn)).toBe(false);
      } finally {
        dir.cleanup();
      }
    },
  );

  it('a bad API_TOKENS entry exits 1 naming its position, not the token', async () => {
    const { code, output } = await runToExit(MANAGER, {
      API_TOKENS: `read:${READ},admin:tooshort`,
      KAFKA_ENABLED: '0',
    });
    expect(code).toBe(1);
    expect(output).toContain('API_TOKENS entry 2 has a token shorter than 16 characters');
    expect(output).not.toContain('tooshort');
    expect(output).not.toContain(READ);
  });
});
