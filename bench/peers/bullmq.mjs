// Peer benchmark: the workloads of bench/pipeline.mjs run on BullMQ against a local Redis, with the
// workers as separate processes, so the two can be compared (bench/compare.mjs) on the same machine.
// Per worker count: idle RSS, bulk addBulk → all completed (no-op processor), then an open-loop leg at a
// fixed rate measuring add → completed from the jobs' own timestamps; CPU of every process involved.
// Run: `node bench/peers/bullmq.mjs` (env: REDIS_URL, BENCH_TASKS, BENCH_WARMUP, BENCH_RATE,
// BENCH_RATE_SECONDS, BENCH_WORKERS e.g. `1,2`, BENCH_CONCURRENCY, BENCH_IDLE_MS, BENCH_OUT).
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cpuMs, pct, rssMiB, selfCpuUs } from '../proc-stats.mjs';
import { envNumber, sleep, waitUntil } from '../helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TASKS = envNumber('BENCH_TASKS', 20_000);
const WARMUP = envNumber('BENCH_WARMUP', 2_000);
const RATE = envNumber('BENCH_RATE', 1_000);
const RATE_SECONDS = envNumber('BENCH_RATE_SECONDS', 10);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
// Taskwire's bench runs its workers with WORKER_CONCURRENCY 64; BullMQ's default (1) would not be a peer.
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 64);
const IDLE_MS = envNumber('BENCH_IDLE_MS', 2_000);
const OUT = process.env.BENCH_OUT ?? path.join(here, '../results/bullmq.json');
// The whole run is bounded: a stuck leg must not leave processes and queues behind for hours.
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MS', 15 * 60_000);
const BULK_CHUNK = 1_000; // like Taskwire's POST /tasks/batch of 1,000
const connection = { url: REDIS_URL };
const workerProcs = new Set();

/** A plain connection for INFO and the probe: fails fast instead of retrying forever. */
async function connectStats() {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  let cause; // ioredis reports the socket error (ECONNREFUSED…) as an event, connect() only "closed"
  redis.on('error', (err) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis is not reachable at ${REDIS_URL} (set REDIS_URL): ${(cause ?? err).message}`);
  }
  return redis;
}

const infoField = (info, name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
/** redis-server CPU (user+sys, all threads) in µs from INFO cpu: works for a remote REDIS_URL too. */
const redisCpuUs = async (redis) => {
  const info = await redis.info('cpu');
  return Math.round((infoField(info, 'used_cpu_user') + infoField(info, 'used_cpu_sys')) * 1e6);
};
const redisRssMiB = async (redis) =>
  Math.round((infoField(await redis.info('memory'), 'used_memory_rss') / 1024 / 1024) * 10) / 10;

function startWorker(queueName) {
  const child = fork(path.join(here, 'bullmq-worker.mjs'), [queueName, String(CONCURRENCY)], {
    env: { ...process.env, REDIS_URL },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  workerProcs.add(child);
  child.once('exit', () => workerProcs.delete(child));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bullmq worker ${child.pid} not ready in 30 s`)), 30_000);
    child.once('message', (m) => m === 'ready' && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`bullmq worker exited ${code}`))));
  });
  return { child, ready };
}

async function stopWorker(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.send('close');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

async function setUp(workers, redis) {
  const name = `taskwire-peerbench-${Date.now()}-${process.pid}-w${workers}`;
  const queue = new Queue(name, { connection });
  queue.on('error', (err) => console.error(`bullmq queue: ${err.message}`));
  await queue.waitUntilReady();
  const started = Array.from({ length: workers }, () => startWorker(name));
  await Promise.all(started.map((w) => w.ready));
  const children = started.map((w) => w.child);
  return {
    name,
    queue,
    children,
    /** CPU µs so far: this process (the producer), the worker processes, redis-server. */
    async cpu() {
      return {
        client: selfCpuUs(),
        workers: children.reduce((sum, c) => sum + cpuMs(c.pid) * 1000, 0),
        redis: await redisCpuUs(redis),
      };
    },
    async tearDown() {
      await Promise.all(children.map(stopWorker));
      // Obliterate refuses while workers hold jobs; they are gone now, and force covers leftovers.
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

/** CPU figures between two snapshots, per task: services (workers + redis) and all incl. the producer. */
function cpuPerTask(c0, c1, tasks) {
  const by = Object.fromEntries(Object.keys(c0).map((k) => [k, Math.round((c1[k] - c0[k]) / tasks)]));
  return {
    cpu_us_per_task: by.workers + by.redis,
    cpu_us_per_task_all: by.workers + by.redis + by.client,
    cpu_us_by_process: by,
  };
}

async function throughput(s, tasks) {
  const before = await s.queue.getCompletedCount();
  const c0 = await s.cpu();
  const t0 = performance.now();
  const adds = [];
  for (let i = 0; i < tasks; i += BULK_CHUNK) {
    const jobs = Array.from({ length: Math.min(BULK_CHUNK, tasks - i) }, (_, j) => ({
      name: 'bulk',
      data: { n: i + j },
    }));
    adds.push(s.queue.addBulk(jobs));
    if (adds.length >= 4) await adds.shift(); // at most 4 chunks in flight, as bench/pipeline.mjs does
  }
  await Promise.all(adds);
  let completed = 0;
  await waitUntil(
    `${tasks} bulk jobs completed`,
    async () => (completed = (await s.queue.getCompletedCount()) - before) >= tasks,
    300_000,
  );
  const seconds = (performance.now() - t0) / 1000;
  const c1 = await s.cpu();
  return {
    tasks,
    completed,
    seconds: +seconds.toFixed(2),
    completed_per_s: Math.round(tasks / seconds),
    ...cpuPerTask(c0, c1, tasks),
  };
}

/** add → completed (ms) of the last `total` jobs named `rate`, newest first from the completed set. */
async function rateLatencies(queue, total) {
  const lat = [];
  for (let start = 0; lat.length < total; start += 1_000) {
    const page = await queue.getJobs(['completed'], start, start + 999);
    if (page.length === 0) break;
    for (const job of page) if (job.name === 'rate') lat.push(job.finishedOn - job.timestamp);
  }
  return lat.sort((a, b) => a - b);
}

async function latencyAtRate(s) {
  const total = Math.round(RATE * RATE_SECONDS);
  const before = await s.queue.getCompletedCount();
  const c0 = await s.cpu();
  const t0 = performance.now();
  const inflight = new Set();
  // Open loop: each add goes out on its schedule whether or not earlier ones have returned.
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const p = s.queue.add('rate', { i });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  await waitUntil(
    `${total} rate jobs completed`,
    async () => (await s.queue.getCompletedCount()) - before >= total,
    120_000,
  );
  const c1 = await s.cpu();
  const cpu = cpuPerTask(c0, c1, total);
  const lat = await rateLatencies(s.queue, total);
  return {
    rate_per_s: RATE,
    tasks: total,
    completed: lat.length,
    // redis-server is BullMQ's central process, the peer of Taskwire's manager (manager_cpu_us_per_task).
    redis_cpu_us_per_task: cpu.cpu_us_by_process.redis,
    ...cpu,
    p50_ms: pct(lat, 50),
    p95_ms: pct(lat, 95),
    p99_ms: pct(lat, 99),
    max_ms: lat.at(-1) ?? null,
  };
}

const maxOf = (values) => (values.some((v) => v === null) ? null : Math.max(...values));

async function main() {
  const redis = await connectStats();
  const results = {
    peer: 'bullmq',
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores`,
    load_avg: os.loadavg().map((l) => +l.toFixed(2)),
    bullmq_version: require('bullmq/package.json').version,
    redis_version: (await redis.info('server')).match(/^redis_version:(\S+)/m)?.[1] ?? null,
    config: {
      tasks: TASKS,
      warmup: WARMUP,
      rate_per_s: RATE,
      rate_seconds: RATE_SECONDS,
      concurrency: CONCURRENCY,
    },
    runs: [],
  };
  try {
    for (const workers of WORKERS) {
      const s = await setUp(workers, redis);
      try {
        await sleep(IDLE_MS); // settled, before any job: the idle figures
        const idle = { workers: s.children.map((c) => rssMiB(c.pid).now), redis: await redisRssMiB(redis) };
        if (WARMUP > 0) await throughput(s, WARMUP); // JIT, Lua script loading, connections
        const t = await throughput(s, TASKS);
        const l = await latencyAtRate(s);
        const rss_mib = {
          worker_idle: maxOf(idle.workers),
          // VmHWM: the worker's peak over both legs. redis-server outlives the run, so its own high-water
          // mark would span earlier runs; its RSS right after the load is used instead.
          worker_load: maxOf(s.children.map((c) => rssMiB(c.pid).peak)),
          redis_idle: idle.redis,
          redis_load: await redisRssMiB(redis),
        };
        results.runs.push({ backend: 'redis', queue: s.name, workers, throughput: t, latency: l, rss_mib });
        console.log(JSON.stringify({ workers, throughput: t, latency: l, rss_mib }));
      } finally {
        await s.tearDown();
      }
    }
  } finally {
    redis.disconnect();
  }
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2));
  console.table(
    results.runs.map((r) => ({
      workers: r.workers,
      'completed/s': r.throughput.completed_per_s,
      'cpu µs/job (all)': r.throughput.cpu_us_per_task_all,
      'p50 ms': r.latency.p50_ms,
      'p95 ms': r.latency.p95_ms,
      'p99 ms': r.latency.p99_ms,
      'redis µs/single add': r.latency.redis_cpu_us_per_task,
      'worker RSS idle/load MiB': `${r.rss_mib.worker_idle}/${r.rss_mib.worker_load}`,
    })),
  );
}

const watchdog = setTimeout(() => {
  console.error(`bench/peers/bullmq.mjs: gave up after ${TIMEOUT_MS} ms`);
  for (const c of workerProcs) c.kill('SIGKILL');
  process.exit(1);
}, TIMEOUT_MS);
watchdog.unref();

try {
  await main();
} catch (err) {
  console.error(`bench/peers/bullmq.mjs: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  for (const c of workerProcs) c.kill('SIGKILL');
}
// A connection left open by a failed leg must not keep the bench alive.
process.exit();
