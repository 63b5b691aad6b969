// /metrics scrape time: dev broker, manager (SQLite) and one worker with METRICS_ADDR, after tasks of
// many templates ran, so the exposition has the series a busy manager has. Sequential scrapes, like Prometheus.
// Run after a build: `node bench/metrics.mjs` (env: BENCH_TEMPLATES, BENCH_TASKS, BENCH_SCRAPES, BENCH_OUT).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, portOpen, postJson as post, waitUntil } from './helpers.mjs';
import { cpuMs, pct } from './proc-stats.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATES = Number(process.env.BENCH_TEMPLATES ?? 50);
const TASKS = Number(process.env.BENCH_TASKS ?? 5_000);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 300);
const OUT = process.env.BENCH_OUT ?? path.join(root, 'bench/results/metrics.json');

const children = [];
function start(script, env, args = []) {
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

/** Scrapes `url` `n` times one after another: wall ms of each (sorted), bytes and sample lines of the last. */
async function scrape(url, n, pid) {
  const times = [];
  let text = '';
  const cpu0 = cpuMs(pid);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    text = await (await fetch(url)).text();
    times.push(performance.now() - t0);
  }
  const cpu = cpuMs(pid) - cpu0;
  times.sort((a, b) => a - b);
  const r = (v) => Math.round(v * 100) / 100;
  return {
    scrapes: n,
    p50_ms: r(pct(times, 50)),
    p99_ms: r(pct(times, 99)),
    max_ms: r(times.at(-1)),
    cpu_ms_per_scrape: r(cpu / n),
    bytes: Buffer.byteLength(text),
    samples: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'taskwire-bench-metrics-'));
try {
  const [brokerPort, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  start('packages/dev-broker/dist/cli.js', {}, [
    '--port',
    String(brokerPort),
    '--data-dir',
    path.join(dir, 'broker'),
  ]);
  await waitUntil('broker', () => portOpen(brokerPort));
  const url = `http://127.0.0.1:${httpPort}`;
  const manager = start('services/task-manager/dist/main.js', {
    SERVER_ADDR: `127.0.0.1:${httpPort}`,
    DB_DSN: path.join(dir, 'bench.db'),
    KAFKA_BROKERS: `127.0.0.1:${brokerPort}`,
  });
  await waitUntil('manager', async () => (await fetch(`${url}/readyz`)).ok);
  const worker = start('services/task-worker/dist/main.js', {
    KAFKA_BROKERS: `127.0.0.1:${brokerPort}`,
    WORKER_ID: 'bench-metrics',
    WORKER_CONCURRENCY: '64',
    HEARTBEAT_INTERVAL_MS: '1000',
    METRICS_ADDR: `127.0.0.1:${metricsPort}`,
  });
  await waitUntil('worker', async () =>
    (await (await fetch(`${url}/workers`)).json()).items.some((w) => w.alive),
  );

  const templates = [];
  for (let i = 0; i < TEMPLATES; i++) {
    templates.push(
      await post(`${url}/templates`, { name: `bench-metrics-${i}-${Date.now()}`, executor: 'echo' }),
    );
  }
  for (let done = 0; done < TASKS; done += 1_000) {
    const n = Math.min(1_000, TASKS - done);
    const tasks = Array.from({ length: n }, (_, k) => ({
      task_template_id: templates[(done + k) % TEMPLATES].id,
    }));
    await post(`${url}/tasks/batch`, { tasks });
  }
  // Dogfood: the manager's own counter says when every task has finished.
  await waitUntil(
    'every task finished',
    async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const finished = [...text.matchAll(/^taskwire_tasks_finished_total\{[^}]*\} (\S+)$/gm)];
      return finished.reduce((s, m) => s + Number(m[1]), 0) >= TASKS;
    },
    300_000,
  );

  const load = loadavg()[0];
  const result = {
    date: new Date().toISOString(),
    templates: TEMPLATES,
    tasks: TASKS,
    load_before: Math.round(load * 10) / 10,
    manager: await scrape(`${url}/metrics`, SCRAPES, manager.pid),
    worker: await scrape(`http://127.0.0.1:${metricsPort}/metrics`, SCRAPES, worker.pid),
    load_after: Math.round(loadavg()[0] * 10) / 10,
  };
  console.log(JSON.stringify(result));
  console.table({ manager: result.manager, worker: result.worker });
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const c of children.reverse()) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
