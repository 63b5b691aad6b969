// Live event fan-out: 200 subscribers on GET /events/stream while tasks run at ~500 events/s.
// Dev broker, manager (SQLite) and one echo worker; tasks are created in small batches on a fixed
// schedule (each task writes created, queued, started and succeeded, so 125 tasks/s ≈ 500 events/s).
// Every subscriber counts the events it gets; delivery latency is read per received chunk, from the
// `at` of the newest event in it to the moment it arrived (the same clock: one machine).
// Run after a build: `npm run bench -- sse-fanout` (env: BENCH_SUBSCRIBERS, BENCH_EVENTS_PER_S,
// BENCH_SECONDS, BENCH_OUT).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, portOpen, postJson as post, sleep, waitUntil } from './helpers.mjs';
import { cpuMs, pct, rssMiB } from './proc-stats.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200);
const EVENTS_PER_S = Number(process.env.BENCH_EVENTS_PER_S ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const OUT = process.env.BENCH_OUT ?? path.join(root, 'bench/results/sse-fanout.json');
const EVENTS_PER_TASK = 4;
const TICK_MS = 200;

const children = [];
function start(script, env, args = []) {
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

/** One SSE subscriber: counts events, samples latency per chunk, notes how its stream ended. */
function subscribe(url, latencies, abort) {
  const sub = { events: 0, ended: null };
  sub.done = (async () => {
    try {
      const res = await fetch(`${url}/events/stream`, { signal: abort.signal });
      if (!res.ok) throw new Error(`GET /events/stream: ${res.status}`);
      const decoder = new TextDecoder();
      // The last 7 characters of a chunk are kept, so a marker cut in two by a chunk boundary still counts once.
      let carry = '';
      for await (const chunk of res.body) {
        const now = Date.now();
        const text = carry + decoder.decode(chunk, { stream: true });
        for (let i = text.indexOf('\nevent: '); i >= 0; i = text.indexOf('\nevent: ', i + 1)) sub.events++;
        carry = text.slice(-7);
        const at = text.lastIndexOf('"at":"');
        const sent = at >= 0 ? Date.parse(text.slice(at + 6, at + 30)) : NaN;
        if (!Number.isNaN(sent)) latencies.push(now - sent);
      }
      sub.ended = 'server closed the stream';
    } catch (err) {
      sub.ended = abort.signal.aborted ? null : String(err?.cause?.code ?? err?.message ?? err);
    }
  })();
  return sub;
}

const dir = mkdtempSync(path.join(tmpdir(), 'taskwire-bench-sse-'));
try {
  const [brokerPort, httpPort] = [await freePort(), await freePort()];
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
  start('services/task-worker/dist/main.js', {
    KAFKA_BROKERS: `127.0.0.1:${brokerPort}`,
    WORKER_ID: 'bench-sse',
    WORKER_CONCURRENCY: '64',
  });
  await waitUntil('worker', async () =>
    (await (await fetch(`${url}/workers`)).json()).items.some((w) => w.alive),
  );
  const template = await post(`${url}/templates`, { name: `bench-sse-${Date.now()}`, executor: 'echo' });
  // One task through the whole pipeline first, so the worker has joined and warmed up.
  const warm = await post(`${url}/tasks`, { task_template_id: template.id });
  await waitUntil(
    'warm-up task',
    async () => (await (await fetch(`${url}/tasks/${warm.id}`)).json()).status === 'COMPLETED',
  );

  const abort = new AbortController();
  const latencies = [];
  const subs = Array.from({ length: SUBSCRIBERS }, () => subscribe(url, latencies, abort));
  await sleep(1_000);
  latencies.length = 0;

  const rss0 = rssMiB(manager.pid).now;
  const cpu0 = cpuMs(manager.pid);
  const perTick = Math.max(1, Math.round((EVENTS_PER_S / EVENTS_PER_TASK) * (TICK_MS / 1000)));
  const t0 = Date.now();
  let created = 0;
  for (let tick = 0; Date.now() - t0 < SECONDS * 1000; tick++) {
    const tasks = Array.from({ length: perTick }, () => ({ task_template_id: template.id }));
    await post(`${url}/tasks/batch`, { tasks });
    created += perTick;
    const wait = t0 + (tick + 1) * TICK_MS - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  const cpu = cpuMs(manager.pid) - cpu0;
  // Let the last tasks finish and their events arrive.
  await sleep(3_000);
  abort.abort();
  await Promise.all(subs.map((s) => s.done));

  const counts = subs.map((s) => s.events).sort((a, b) => a - b);
  latencies.sort((a, b) => a - b);
  const expected = created * EVENTS_PER_TASK;
  const r1 = (v) => Math.round(v * 10) / 10;
  const result = {
    date: new Date().toISOString(),
    subscribers: SUBSCRIBERS,
    seconds: r1(loadSeconds),
    tasks_created: created,
    target_events_per_s: EVENTS_PER_S,
    events_expected: expected,
    events_per_s: Math.round(expected / loadSeconds),
    delivered_per_subscriber: { min: counts[0], median: pct(counts, 50), max: counts.at(-1) },
    deliveries_per_s: Math.round(counts.reduce((s, n) => s + n, 0) / loadSeconds),
    streams_ended_early: subs.filter((s) => s.ended !== null).length,
    end_reasons: [...new Set(subs.map((s) => s.ended).filter((e) => e !== null))],
    latency_ms: {
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: latencies.at(-1),
      samples: latencies.length,
    },
    manager: {
      cpu_pct: r1((cpu / (loadSeconds * 1000)) * 100),
      rss_mib_before: rss0,
      rss_mib_after: rssMiB(manager.pid).now,
      rss_mib_peak: rssMiB(manager.pid).peak,
    },
    load: r1(loadavg()[0]),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const c of children.reverse()) c.kill('SIGTERM');
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
}
