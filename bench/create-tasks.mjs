// Create-task throughput through the HTTP API of the BUILT manager, on SQLite and on MariaDB.
// Usage: node bench/create-tasks.mjs   (after `tsc -b services/task-manager`); writes bench/results/create-tasks.json.
// Cases: POST /tasks one at a time on one keep-alive connection; POST /tasks from 50 concurrent
// clients (group commit coalesces them); POST /tasks/batch with 1000 tasks per request.
// Env: BENCH_SECONDS (per case, default 5), BENCH_DBS (default "sqlite,mysql"), BENCH_LOG_LEVEL (default warn).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestMysqlDatabase } from '@taskwire/testkit';
import { freePort } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', 'services', 'task-manager', 'dist', 'main.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const DBS = (process.env.BENCH_DBS ?? 'sqlite,mysql').split(',');
// Per-request access logs at info cost CPU in both processes; the API path is what is measured here.
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const WARMUP_MS = 500;

async function startManager(dbEnv) {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      SERVER_ADDR: `127.0.0.1:${port}`,
      KAFKA_ENABLED: '0',
      SCHEDULER_ENABLED: '0',
      LOG_LEVEL,
      ...dbEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`manager exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`manager not ready:\n${output}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function post(agent, port, path, body) {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Runs `clients` loops of `op` for WARMUP_MS (not counted) then SECONDS; returns tasks/s and latency. */
async function measure(clients, op) {
  const latencies = [];
  let tasks = 0;
  let errors = 0;
  let counting = false;
  let stopAt = Date.now() + WARMUP_MS;
  const loop = async () => {
    while (Date.now() < stopAt) {
      const t0 = performance.now();
      const n = await op().catch(() => 0);
      if (!counting) continue;
      latencies.push(performance.now() - t0);
      if (n > 0) tasks += n;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  counting = true;
  const start = performance.now();
  stopAt = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0) * 100) /
    100;
  return {
    tasks,
    errors,
    seconds: Math.round(elapsed * 100) / 100,
    tasks_per_s: Math.round(tasks / elapsed),
    p50_ms: pct(0.5),
    p99_ms: pct(0.99),
  };
}

async function benchDb(db) {
  let fixture;
  if (db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-bench-'));
    fixture = {
      env: { DB_TYPE: 'sqlite', DB_DSN: join(dir, 'bench.db') },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  } else {
    const d = await createTestMysqlDatabase();
    fixture = { env: { DB_TYPE: 'mysql', DB_DSN: d.dsn }, cleanup: () => d.drop() };
  }
  const manager = await startManager(fixture.env);
  try {
    const setup = new Agent({ keepAlive: true, maxSockets: 1 });
    const created = await post(setup, manager.port, '/templates', {
      name: 'bench',
      executor: 'echo',
      param_schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    });
    if (created.status !== 201) throw new Error(`template: ${created.status} ${created.body}`);
    const templateId = JSON.parse(created.body).id;
    const one = (agent) => () =>
      post(agent, manager.port, '/tasks', { task_template_id: templateId, params: { n: 1 } }).then((r) =>
        r.status === 201 ? 1 : 0,
      );
    const batchBody = {
      tasks: Array.from({ length: 1000 }, (_, n) => ({ task_template_id: templateId, params: { n } })),
    };
    const batch = (agent) => () =>
      post(agent, manager.port, '/tasks/batch', batchBody).then((r) => (r.status === 200 ? 1000 : 0));

    const results = {};
    results['POST /tasks, 1 client'] = await measure(1, one(new Agent({ keepAlive: true, maxSockets: 1 })));
    results['POST /tasks, 50 clients'] = await measure(
      50,
      one(new Agent({ keepAlive: true, maxSockets: 50 })),
    );
    results['POST /tasks/batch x1000, 1 client'] = await measure(
      1,
      batch(new Agent({ keepAlive: true, maxSockets: 1 })),
    );
    return results;
  } finally {
    await manager.stop();
    await fixture.cleanup();
  }
}

if (!existsSync(MAIN)) {
  process.stderr.write(`${MAIN} is missing: build first (node scripts/pnpm.mjs exec tsc -b)\n`);
  process.exit(1);
}
const report = {
  bench: 'create-tasks',
  at: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  seconds_per_case: SECONDS,
  log_level: LOG_LEVEL,
  results: {},
};
const rows = [];
for (const db of DBS) {
  try {
    report.results[db] = await benchDb(db);
    for (const [name, r] of Object.entries(report.results[db])) rows.push({ db, case: name, ...r });
  } catch (err) {
    report.results[db] = { error: err.message };
    rows.push({ db, case: 'failed', error: err.message.split('\n')[0] });
  }
}
console.table(rows);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'create-tasks.json'), JSON.stringify(report, null, 2) + '\n');
console.log(`wrote ${join(here, 'results', 'create-tasks.json')}`);
