// Worker-only benchmark: dev broker + one worker, no manager. This script plays the relay (produces
// dispatch messages) and reads the results, so the worker's own figures are measured without the
// manager's noise: RSS idle and peak, worker CPU µs per task (bulk and at a fixed rate), and the
// dispatch leg (produce acknowledged → worker started the task) at BENCH_RATE/s, p50/p95/p99/max.
// Run after a build: `node bench/worker-dispatch.mjs` (env: BENCH_TASKS, BENCH_RATE,
// BENCH_RATE_SECONDS, BENCH_IDLE_MS, BENCH_NODE_ARGS, BENCH_ROOT: a checkout whose build to run,
// BENCH_SCHEMA: `none` (default: no param_schema), `inline` (a typical param_schema in every
// dispatch, as managers before schema references sent it) or `ref` (the same schema published once
// on the schema topic and named by hash in every dispatch); the output shows the bytes per dispatch).
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, portOpen, sleep, waitUntil } from './helpers.mjs';
import { cpuMs, pct, rssMiB } from './proc-stats.mjs';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(process.env.BENCH_ROOT ?? here);
const { Kafka, logLevel } = createRequire(path.join(here, 'services/task-worker/package.json'))('kafkajs');
const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 2_000);
const DISPATCH = 'task_execution_requests';
const RESULTS = 'task_results';
const SCHEMAS = 'taskwire.schemas';
const SCHEMA_MODE = process.env.BENCH_SCHEMA ?? 'none';
if (!['none', 'inline', 'ref'].includes(SCHEMA_MODE))
  throw new Error(`BENCH_SCHEMA=${SCHEMA_MODE}: none, inline or ref`);
/** A typical hand-written param_schema: a few typed properties, two required. */
const SCHEMA = {
  type: 'object',
  properties: {
    to: { type: 'string', minLength: 3, maxLength: 254 },
    subject: { type: 'string', maxLength: 200 },
    body: { type: 'string' },
    priority: { type: 'integer', minimum: 0, maximum: 9 },
  },
  required: ['to', 'subject'],
  additionalProperties: false,
};
/** sha256: of the canonical JSON (keys sorted), as docs/kafka-contract.md names a schema. */
const canonical = (v) =>
  v === null || typeof v !== 'object'
    ? JSON.stringify(v)
    : Array.isArray(v)
      ? `[${v.map(canonical).join(',')}]`
      : `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
          .join(',')}}`;
const SCHEMA_REF = `sha256:${createHash('sha256').update(canonical(SCHEMA)).digest('hex')}`;

const procs = [];
/** The V8 flags the worker's package asks for (its start script, Dockerfile and compose use them). */
const workerNodeArgs =
  JSON.parse(readFileSync(path.join(root, 'services/task-worker/package.json'), 'utf8')).nodeArgs ?? [];

function start(script, env, args = [], ownNodeArgs = []) {
  const nodeArgs = [...ownNodeArgs, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, script), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  procs.push(child);
  return child;
}

const dir = mkdtempSync(path.join(tmpdir(), 'taskwire-wbench-'));
const port = await freePort();
const brokers = [`127.0.0.1:${port}`];
start('packages/dev-broker/dist/cli.js', {}, ['--port', String(port), '--data-dir', path.join(dir, 'b')]);
await waitUntil('broker', () => portOpen(port));
const kafka = new Kafka({ clientId: 'wbench', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: [
    { topic: DISPATCH, numPartitions: 3 },
    { topic: RESULTS, numPartitions: 3 },
    { topic: SCHEMAS, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ],
});
await admin.disconnect();
const producer = kafka.producer({ allowAutoTopicCreation: true });
await producer.connect();
if (SCHEMA_MODE === 'ref') {
  await producer.send({
    topic: SCHEMAS,
    messages: [{ key: SCHEMA_REF, value: JSON.stringify({ v: 1, hash: SCHEMA_REF, param_schema: SCHEMA }) }],
  });
}

/** task id → { acked: epoch ms of the produce ack, started, done } */
const tasks = new Map();
let terminal = 0;
const consumer = kafka.consumer({ groupId: `wbench-${Date.now()}`, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topic: RESULTS, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const r = JSON.parse(message.value.toString());
    const t = tasks.get(r.task_id);
    if (!t) return;
    if (r.type === 'started') t.started = r.at;
    else if (['succeeded', 'failed', 'timed_out', 'canceled'].includes(r.type)) {
      t.started ??= r.started_at ?? r.at;
      if (!t.done) terminal++;
      t.done = r.at;
    }
  },
});

const worker = start(
  'services/task-worker/dist/main.js',
  {
    KAFKA_BROKERS: brokers[0],
    WORKER_ID: 'wbench-0',
    WORKER_CONCURRENCY: '64',
    HEARTBEAT_INTERVAL_MS: '1000',
  },
  [],
  workerNodeArgs,
);

let seq = 0;
const dispatch = (i) => {
  const now = Date.now();
  const id = `t${String(seq++).padStart(10, '0')}`;
  tasks.set(id, { acked: 0 });
  return {
    key: id,
    value: JSON.stringify({
      v: 1,
      task_id: id,
      attempt: 1,
      template_id: 'tpl',
      template_name: 'bench-echo',
      executor: 'echo',
      queue: 'default',
      ...(SCHEMA_MODE === 'none'
        ? { params: { i }, param_schema: null }
        : {
            params: { to: 'someone@example.com', subject: `report ${i}`, body: 'hello', priority: i % 10 },
            ...(SCHEMA_MODE === 'inline' ? { param_schema: SCHEMA } : { param_schema_ref: SCHEMA_REF }),
          }),
      timeout_ms: 60_000,
      deadline: now + 3_600_000,
      queued_at: now,
    }),
  };
};

async function bulk(n) {
  const before = terminal;
  const cpu0 = cpuMs(worker.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await producer.send({
      topic: DISPATCH,
      messages: Array.from({ length: Math.min(1000, n - i) }, (_, j) => dispatch(i + j)),
    });
  }
  await waitUntil('bulk results', () => terminal >= before + n, 300_000);
  const s = (performance.now() - t0) / 1000;
  return {
    tasks: n,
    per_s: Math.round(n / s),
    worker_cpu_us_per_task: Math.round(((cpuMs(worker.pid) - cpu0) * 1000) / n),
  };
}

async function atRate() {
  const total = RATE * RATE_SECONDS;
  const before = terminal;
  const cpu0 = cpuMs(worker.pid);
  const ids = [];
  const t0 = performance.now();
  const inflight = new Set();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const m = dispatch(i);
    ids.push(m.key);
    const p = producer
      .send({ topic: DISPATCH, messages: [m] })
      .then(() => (tasks.get(m.key).acked = Date.now()));
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  await waitUntil('rate results', () => terminal >= before + total, 120_000);
  const legs = ids
    .map((id) => tasks.get(id))
    .map((t) => t.started - t.acked)
    .sort((a, b) => a - b);
  return {
    rate_per_s: RATE,
    tasks: total,
    worker_cpu_us_per_task: Math.round(((cpuMs(worker.pid) - cpu0) * 1000) / total),
    dispatch_ms_p50_p95_p99_max: `${pct(legs, 50)}/${pct(legs, 95)}/${pct(legs, 99)}/${legs.at(-1)}`,
  };
}

try {
  await producer.send({ topic: DISPATCH, messages: [dispatch(0)] });
  await waitUntil('worker ready', () => terminal >= 1, 60_000);
  await sleep(IDLE_MS);
  const idle = rssMiB(worker.pid).now;
  await bulk(2000); // warm-up
  const b = await bulk(TASKS);
  const r = await atRate();
  const out = {
    root,
    schema: SCHEMA_MODE,
    dispatch_bytes: Buffer.byteLength(dispatch(0).value),
    bulk: b,
    rate: r,
    rss_mib: { worker_idle: idle, worker_peak: rssMiB(worker.pid).peak },
  };
  console.log(JSON.stringify(out));
} finally {
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  for (const c of procs.reverse()) {
    c.kill('SIGTERM');
    await new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)));
  }
  rmSync(dir, { recursive: true, force: true });
}
