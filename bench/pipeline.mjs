// Pipeline benchmark: echo tasks through POST /tasks/batch → Kafka (dev broker) → workers → results,
// with 1 and 2 workers on SQLite (or MariaDB): completed tasks/s, and create→completed latency at a fixed rate.
// Run after a build: `node bench/pipeline.mjs` (env: BENCH_TASKS, BENCH_RATE, BENCH_RATE_SECONDS,
// BENCH_WORKERS e.g. `2` or `1,2`, BENCH_WARMUP, BENCH_IDLE_MS, BENCH_OUT, BENCH_LOG_DIR, BENCH_DB `sqlite`
// or `mysql`, BENCH_MANAGER: another manager script, e.g. the floor bench/floor/manager.mjs,
// BENCH_COMPLETE_TIMEOUT_MS: how long the bulk leg may take, 300,000); writes bench/results/pipeline.json
// (pipeline-mysql.json on mysql). bench/compare.mjs runs it with BENCH_RATE=1000 next to
// bench/peers/bullmq.mjs, which writes the same fields. Admission (bench/admission.mjs
// BENCH_ADMISSION_MODE=pipeline): BENCH_MAX_IN_FLIGHT sets the queue's max_in_flight; BENCH_KEYS
// spreads the tasks over that many concurrency keys, BENCH_KEY_LIMIT each.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs, pct, rssMiB, selfCpuUs } from './proc-stats.mjs';
import { envNumber, sleep, waitUntil } from './helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TASKS = envNumber('BENCH_TASKS', 20_000);
const RATE = envNumber('BENCH_RATE', 500);
const RATE_SECONDS = envNumber('BENCH_RATE_SECONDS', 10);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
if (!WORKERS.every((n) => Number.isInteger(n) && n >= 1))
  throw new Error(
    `BENCH_WORKERS must be worker counts separated by commas, e.g. 1,2; got ${process.env.BENCH_WORKERS}`,
  );
const WARMUP = envNumber('BENCH_WARMUP', 2_000);
const IDLE_MS = envNumber('BENCH_IDLE_MS', 2_000);
const OUT =
  process.env.BENCH_OUT ??
  path.join(root, `bench/results/pipeline${process.env.BENCH_DB === 'mysql' ? '-mysql' : ''}.json`);
const MAX_IN_FLIGHT = process.env.BENCH_MAX_IN_FLIGHT ? envNumber('BENCH_MAX_IN_FLIGHT') : null;
const KEYS = envNumber('BENCH_KEYS', 0);
const KEY_LIMIT = envNumber('BENCH_KEY_LIMIT', 2);
/** How long the bulk leg may take to complete (ms; the tests set less, so that a stuck pipeline fails fast). */
const COMPLETE_TIMEOUT_MS = envNumber('BENCH_COMPLETE_TIMEOUT_MS', 300_000);
/** The manager's script; bench/floor/manager.mjs measures the least a manager of this design costs. */
const MANAGER = process.env.BENCH_MANAGER ?? 'services/task-manager/dist/main.js';
/** Task n's params: with BENCH_KEYS, its concurrency key too (round-robin over the keys). */
const paramsOf = (n) => (KEYS > 0 ? { n, k: `k${n % KEYS}` } : { n });

// --- Database adapter (BENCH_DB) -------------------------------------------------------------------
// Where the manager keeps its tasks, and how the bench reads completions from there (the manager's
// own clock: updated_at − created_at). `sqlite` (default): the manager's file, read directly and
// read-only with better-sqlite3. `mysql`: a fresh database per stack on the local MariaDB (the
// testkit's helper: 127.0.0.1:3306, root, no password), read through mysql2, dropped at the end. On
// mysql each leg also reports what the database did per task: the manager's statements by kind and
// shape with their round-trip time (counted inside the manager by bench/mysql-statements.mjs, since
// the server's Com_* counters are global and other work may share the server), and the CPU of the
// mariadbd threads serving the manager's connections (processlist TID → /proc; MariaDB only).
const DB = process.env.BENCH_DB ?? 'sqlite';
if (!['sqlite', 'mysql'].includes(DB)) throw new Error(`BENCH_DB must be sqlite or mysql, got ${DB}`);
const LEGS = ['queue', 'relay', 'dispatch', 'run', 'result'];

async function openDb(dir) {
  if (DB === 'sqlite') {
    const Database = createRequire(path.join(root, 'services/task-manager/package.json'))('better-sqlite3');
    const file = path.join(dir, 'bench.db');
    let sqlite;
    return {
      env: { DB_DSN: file },
      async attach() {
        sqlite = new Database(file, { readonly: true, fileMustExist: true });
        const countDone = sqlite.prepare("SELECT count(*) AS n FROM tasks WHERE status = 'COMPLETED'");
        return {
          done: async () => countDone.get().n,
          latencies: async (since) =>
            sqlite
              .prepare(
                "SELECT updated_at - created_at AS ms FROM tasks WHERE status = 'COMPLETED' AND created_at >= ? ORDER BY ms",
              )
              .all(since)
              .map((r) => r.ms),
          legs: async (since) =>
            sqlite
              .prepare(
                `SELECT t.queued_at - t.created_at AS queue, o.sent_at - t.queued_at AS relay,
                        json_extract(b.data, '$.worker_at') - o.sent_at AS dispatch,
                        json_extract(e.data, '$.worker_at') - json_extract(b.data, '$.worker_at') AS run,
                        t.updated_at - json_extract(e.data, '$.worker_at') AS result
                   FROM tasks t JOIN outbox o ON o.key = t.id
                   LEFT JOIN task_events b ON b.task_id = t.id AND b.attempt = t.attempt AND b.type = 'started'
                   LEFT JOIN task_events e ON e.task_id = t.id AND e.attempt = t.attempt AND e.type = 'succeeded'
                  WHERE t.status = 'COMPLETED' AND t.created_at >= ?`,
              )
              .all(since),
          stats: async () => null,
        };
      },
      async close() {
        sqlite?.close();
        sqlite = undefined;
      },
      serverInfo: async () => null,
    };
  }
  const { createTestMysqlDatabase } = await import('@taskwire/testkit');
  const { createConnection } = await import('mysql2/promise');
  const database = await createTestMysqlDatabase();
  const statementsFile = path.join(dir, 'statements.json');
  // DATETIME(3) columns hold UTC (the store's convention): 'Z' formats `since` the same way.
  const conn = await createConnection({ uri: database.dsn, timezone: 'Z' });
  const ms = (a, b) => `TIMESTAMPDIFF(MICROSECOND, ${a}, ${b}) DIV 1000`;
  // UNIX_TIMESTAMP reads the DATETIME in the session's time zone: UTC, as the store writes it.
  await conn.query("SET time_zone = '+00:00'");
  const epochMs = (col) => `CAST(UNIX_TIMESTAMP(${col}) * 1000 AS SIGNED)`;
  const worker = (alias) => `CAST(JSON_VALUE(${alias}.data, '$.worker_at') AS SIGNED)`;
  let managerPid;
  let seq = 0;
  let closed = false;
  /**
   * utime+stime (µs) of every mariadbd thread, and which of them serve the manager's connections now.
   * The baseline of a leg is every thread's, not only the manager's: a connection opened mid-leg
   * gets a cached thread that may have served other clients before.
   */
  const serverThreads = async () => {
    const server = mariadbdPid();
    if (!server) return null;
    let rows;
    try {
      [rows] = await conn.query(
        'SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
        [database.name],
      );
    } catch {
      return null; // MySQL has no TID column
    }
    const cpu = {};
    for (const tid of readdirSync(`/proc/${server}/task`)) cpu[tid] = threadCpuUs(server, tid);
    return { cpu, manager: rows.map((r) => String(r.tid)) };
  };
  return {
    name: database.name,
    env: {
      DB_TYPE: 'mysql',
      DB_DSN: database.dsn,
      BENCH_STATEMENTS_FILE: statementsFile,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${path.join(root, 'bench/mysql-statements.mjs')}`,
    },
    async attach(pid) {
      managerPid = pid;
      const one = async (sql, args) => (await conn.query(sql, args))[0];
      return {
        done: async () => (await one("SELECT count(*) AS n FROM tasks WHERE status = 'COMPLETED'"))[0].n,
        latencies: async (since) =>
          (
            await one(
              `SELECT ${ms('created_at', 'updated_at')} AS ms FROM tasks
                WHERE status = 'COMPLETED' AND created_at >= ? ORDER BY ms`,
              [new Date(since)],
            )
          ).map((r) => r.ms),
        legs: (since) =>
          one(
            `SELECT ${ms('t.created_at', 't.queued_at')} AS queue, ${ms('t.queued_at', 'o.sent_at')} AS relay,
                    ${worker('b')} - ${epochMs('o.sent_at')} AS dispatch, ${worker('e')} - ${worker('b')} AS run,
                    ${epochMs('t.updated_at')} - ${worker('e')} AS result
               FROM tasks t JOIN outbox o ON o.key = t.id
               LEFT JOIN task_events b ON b.task_id = t.id AND b.attempt = t.attempt AND b.type = 'started'
               LEFT JOIN task_events e ON e.task_id = t.id AND e.attempt = t.attempt AND e.type = 'succeeded'
              WHERE t.status = 'COMPLETED' AND t.created_at >= ?`,
            [new Date(since)],
          ),
        /** The manager's statement counts so far (SIGUSR2 makes its preload write them) and its server threads' CPU. */
        async stats() {
          const want = ++seq;
          process.kill(managerPid, 'SIGUSR2');
          let statements;
          await waitUntil('the manager’s statement counts', () => {
            if (!existsSync(statementsFile)) return false;
            const snap = JSON.parse(readFileSync(statementsFile, 'utf8'));
            if (snap.seq < want) return false;
            statements = snap;
            return true;
          });
          const server = mariadbdPid();
          const [status] = await conn.query(
            `SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_begin', 'Com_commit', 'Com_select',
               'Com_insert', 'Com_update', 'Com_delete', 'Innodb_log_writes', 'Innodb_os_log_written', 'Innodb_data_fsyncs')`,
          );
          return {
            statements,
            threads: await serverThreads(),
            process: server ? cpuMs(server) * 1000 : null,
            global: Object.fromEntries(status.map((r) => [r.Variable_name, Number(r.Value)])),
          };
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await conn.end().catch(() => {}); // the reader's connection; the database goes either way
      await database.drop();
    },
    async serverInfo() {
      const [[version]] = await conn.query('SELECT VERSION() AS v');
      const [vars] = await conn.query(
        `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit', 'sync_binlog',
           'log_bin', 'innodb_flush_method', 'innodb_buffer_pool_size', 'innodb_doublewrite', 'thread_handling')`,
      );
      return { version: version.v, ...Object.fromEntries(vars.map((r) => [r.Variable_name, r.Value])) };
    },
  };
}

/** The pid of the local mariadbd (or mysqld), null when it runs elsewhere (another host, a container). */
function mariadbdPid() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (/^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) return pid;
    } catch {
      // gone, or not ours to read
    }
  }
  return null;
}

function threadCpuUs(pid, tid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/**
 * Per task between two stats() snapshots: the manager's statements by kind and the busiest shapes (count,
 * round-trip ms as the manager saw it, SQL text), the CPU of the server threads serving it and of all of
 * mariadbd, and the server-wide counters.
 */
function dbPerTask(a, b, tasks) {
  if (!a || !b) return {};
  const per = (x) => Math.round((x / tasks) * 1000) / 1000;
  const diff = (from, to) =>
    Object.entries(to)
      .map(([k, v]) => [
        k,
        { n: v.n - (from[k]?.n ?? 0), ms: v.ms - (from[k]?.ms ?? 0), kb: v.kb - (from[k]?.kb ?? 0) },
      ])
      .filter(([, v]) => v.n > 0);
  const kinds = diff(a.statements.kinds, b.statements.kinds);
  const total = kinds.reduce((sum, [, v]) => sum + v.n, 0);
  let serverUs = null;
  if (a.threads && b.threads)
    serverUs = [...new Set([...a.threads.manager, ...b.threads.manager])].reduce(
      (sum, tid) => sum + (b.threads.cpu[tid] ?? a.threads.cpu[tid] ?? 0) - (a.threads.cpu[tid] ?? 0),
      0,
    );
  const processUs = a.process !== null && b.process !== null ? b.process - a.process : null;
  return {
    db: {
      statements_per_task: per(total),
      by_kind_per_task: Object.fromEntries(kinds.map(([k, v]) => [k, per(v.n)])),
      round_trip_ms_per_task: per(kinds.reduce((sum, [, v]) => sum + v.ms, 0)),
      sql_kb_per_task: per(kinds.reduce((sum, [, v]) => sum + v.kb, 0)),
      // CPU of the server threads that ran the manager's statements (not the server's background threads).
      server_cpu_us_per_task: serverUs === null ? null : Math.round(serverUs / tasks),
      // All of mariadbd: background threads (log writer, purge, page cleaner), this bench's polls, other clients.
      server_process_cpu_us_per_task: processUs === null ? null : Math.round(processUs / tasks),
      // The server's own counters: everyone's statements (this bench's polls, other clients), so
      // an upper bound for the manager's; redo log writes (and bytes) and fsyncs are what commits cost the disk.
      server_wide_per_task: Object.fromEntries(
        Object.keys(b.global).map((k) => [k, per(b.global[k] - (a.global[k] ?? 0))]),
      ),
      top_shapes: diff(a.statements.shapes, b.statements.shapes)
        .sort((x, y) => y[1].ms - x[1].ms)
        .slice(0, 12)
        .map(([sql, v]) => ({
          sql,
          per_task: per(v.n),
          ms_per_task: per(v.ms),
          ms_each: +(v.ms / v.n).toFixed(3),
          kb_per_task: per(v.kb),
        })),
    },
  };
}

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const procs = [];
const dbs = [];

/** The V8 flags the worker's package asks for (its start script, Dockerfile and compose use them). */
const workerNodeArgs =
  JSON.parse(readFileSync(path.join(root, 'services/task-worker/package.json'), 'utf8')).nodeArgs ?? [];

function start(script, env, args = [], ownNodeArgs = []) {
  // BENCH_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, go to every process of the stack.
  const nodeArgs = [...ownNodeArgs, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  // BENCH_LOG_DIR keeps each process's log (stdout) in <dir>/<n>-<script name>.log.
  const logDir = process.env.BENCH_LOG_DIR;
  const out = logDir
    ? openSync(
        path.join(logDir, `${procs.length}-${path.basename(path.dirname(path.dirname(script)))}.log`),
        'a',
      )
    : 'ignore';
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, script), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', out, 'inherit'],
  });
  procs.push(child);
  return child;
}

const require = createRequire(import.meta.url);

async function stack(workers) {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskwire-bench-'));
  const brokerPort = await freePort();
  const httpPort = await freePort();
  const brokers = `127.0.0.1:${brokerPort}`;
  const db = await openDb(dir);
  dbs.push(db); // closed (a MariaDB database dropped) by stop(), or at exit if the stack fails to start
  const children = [];
  children.push(
    start('packages/dev-broker/dist/cli.js', {}, [
      '--port',
      String(brokerPort),
      '--data-dir',
      path.join(dir, 'broker'),
    ]),
  );
  await waitUntil(
    'broker',
    () =>
      new Promise((r) =>
        net
          .connect(brokerPort, '127.0.0.1')
          .on('connect', function () {
            this.destroy();
            r(true);
          })
          .on('error', () => r(false)),
      ),
  );
  const url = `http://127.0.0.1:${httpPort}`;
  children.push(
    start(MANAGER, {
      SERVER_ADDR: `127.0.0.1:${httpPort}`,
      ...db.env,
      KAFKA_BROKERS: brokers,
    }),
  );
  await waitUntil('manager', async () => (await fetch(`${url}/readyz`)).ok);
  for (let i = 0; i < workers; i++) {
    children.push(
      start(
        'services/task-worker/dist/main.js',
        {
          KAFKA_BROKERS: brokers,
          WORKER_ID: `bench-${i}`,
          WORKER_CONCURRENCY: '64',
          HEARTBEAT_INTERVAL_MS: '1000',
        },
        [],
        workerNodeArgs,
      ),
    );
  }
  await waitUntil('workers', async () => {
    const body = await (await fetch(`${url}/workers`)).json();
    return (body.items ?? body).filter((w) => w.alive).length === workers;
  });
  const res = await fetch(`${url}/templates`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `bench-echo-${Date.now()}`,
      executor: 'echo',
      ...(KEYS > 0 ? { concurrency_key: '/k', concurrency_limit: KEY_LIMIT } : {}),
    }),
  });
  const template = await res.json();
  if (!res.ok) throw new Error(`POST /templates failed: ${res.status} ${JSON.stringify(template)}`);
  if (MAX_IN_FLIGHT !== null) {
    const put = await fetch(`${url}/queues/default`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_in_flight: MAX_IN_FLIGHT }),
    });
    if (!put.ok) throw new Error(`PUT /queues/default failed: ${put.status}`);
  }
  const reader = await db.attach(children[1].pid);
  return {
    url,
    template,
    children,
    done: reader.done,
    latencies: reader.latencies,
    dbStats: reader.stats,
    // Where the time goes, per leg (ms): the manager's clock for created/queued/updated and the
    // outbox's sent_at; the worker's clock (same machine) for its start and end, read from the
    // worker_at of the task's `started` and `succeeded` events. (The task's own started_at and
    // finished_at are the manager's clock when it applied the result, so they cannot split the way
    // to the worker from the way back.) dispatch: sent → the worker starts it (below 0 when the
    // worker starts before the relay, which stamps sent_at after the produce is acknowledged, gets
    // there); result: the worker ends it → the manager has applied the result.
    breakdown: async (since) => {
      const rows = await reader.legs(since);
      const legs = {};
      for (const leg of LEGS) {
        const v = rows
          .map((r) => r[leg])
          .filter((x) => x !== null)
          .map(Number)
          .sort((a, b) => a - b);
        legs[leg] = `${pct(v, 50)}/${pct(v, 95)}/${pct(v, 99)}`;
      }
      return legs;
    },
    cpu: () => children.reduce((sum, c) => sum + cpuMs(c.pid), 0),
    managerCpu: () => cpuMs(children[1].pid),
    /** CPU µs so far per role: this process (the HTTP client), broker, manager, workers. */
    cpuBy: () => ({
      client: selfCpuUs(),
      broker: cpuMs(children[0].pid) * 1000,
      manager: cpuMs(children[1].pid) * 1000,
      workers: children.slice(2).reduce((sum, c) => sum + cpuMs(c.pid) * 1000, 0),
    }),
    /** RSS (MiB) per role, `now` or `peak`; with several workers, the largest. */
    rss: (which) => ({
      broker: rssMiB(children[0].pid)[which],
      manager: rssMiB(children[1].pid)[which],
      worker: Math.max(...children.slice(2).map((c) => rssMiB(c.pid)[which])),
    }),
    serverInfo: db.serverInfo,
    database: db.name, // the MariaDB database's name (dropped at stop); undefined on SQLite
    async stop() {
      for (const c of [...children].reverse()) {
        c.kill('SIGTERM');
        await new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)));
      }
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Per-task CPU between two cpuBy() snapshots: every process, the bench's own (the client) included. */
function cpuAll(c0, c1, tasks) {
  const by = Object.fromEntries(Object.keys(c0).map((k) => [k, Math.round((c1[k] - c0[k]) / tasks)]));
  return { cpu_us_per_task_all: Object.values(by).reduce((a, b) => a + b, 0), cpu_us_by_process: by };
}

async function throughput(s, TASKS) {
  const before = await s.done();
  const db0 = await s.dbStats();
  const cpu0 = s.cpu();
  const by0 = s.cpuBy();
  const t0 = performance.now();
  const posts = [];
  for (let i = 0; i < TASKS; i += 1000) {
    const tasks = Array.from({ length: Math.min(1000, TASKS - i) }, (_, j) => ({
      task_template_id: s.template.id,
      params: paramsOf(i + j),
    }));
    posts.push(
      fetch(`${s.url}/tasks/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tasks }),
      }).then(
        (r) => {
          if (!r.ok) throw new Error(`batch failed: ${r.status}`);
        },
        (err) => {
          throw new Error(
            `POST /tasks/batch failed: ${err.cause?.code ?? ''} ${err.cause?.message ?? err.message}`,
          );
        },
      ),
    );
    posts.at(-1).catch(() => {}); // awaited below; this only keeps an early failure from crashing the bench
    if (posts.length >= 4) await posts.shift();
  }
  await Promise.all(posts);
  await waitUntil('all tasks completed', async () => (await s.done()) >= before + TASKS, COMPLETE_TIMEOUT_MS);
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsPerTask = ((s.cpu() - cpu0) * 1000) / TASKS;
  return {
    tasks: TASKS,
    completed: (await s.done()) - before,
    seconds: +seconds.toFixed(2),
    completed_per_s: Math.round(TASKS / seconds),
    cpu_us_per_task: Math.round(cpuUsPerTask),
    ...cpuAll(by0, s.cpuBy(), TASKS),
    ...dbPerTask(db0, await s.dbStats(), TASKS),
  };
}

// The open-loop client shares the machine's 2 cores with the stack it measures, so it sends with
// node:http on kept-alive sockets: global fetch (undici) cost this process ~1 ms of CPU per POST, more than
// the manager's own work, and that contention showed up in the latencies being measured.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/** POSTs `body` as JSON; resolves with the status once the whole response is read. */
function postJson(url, body) {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function latencyAtRate(s) {
  const since = Date.now();
  const total = RATE * RATE_SECONDS;
  const before = await s.done();
  const db0 = await s.dbStats();
  const managerCpu0 = s.managerCpu();
  const cpu0 = s.cpu();
  const by0 = s.cpuBy();
  const t0 = performance.now();
  const inflight = new Set();
  const failures = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const p = postJson(`${s.url}/tasks`, { task_template_id: s.template.id, params: paramsOf(i) })
      .then((status) => {
        if (status !== 201) failures.push(`HTTP ${status}`);
      })
      .catch((err) => void failures.push(`${err.code ?? ''} ${err.message}`));
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  if (failures.length > 0)
    throw new Error(`${failures.length} of ${total} single POST /tasks failed, e.g. ${failures[0]}`);
  await waitUntil(
    'rate tasks completed',
    async () => (await s.done()) >= before + total,
    Math.min(120_000, COMPLETE_TIMEOUT_MS),
  );
  // Manager CPU per single-POST task (create, relay, result) — the process that saturates first.
  const managerCpuUsPerTask = Math.round(((s.managerCpu() - managerCpu0) * 1000) / total);
  const cpuUsPerTask = Math.round(((s.cpu() - cpu0) * 1000) / total);
  const all = cpuAll(by0, s.cpuBy(), total);
  const db = dbPerTask(db0, await s.dbStats(), total);
  const lat = await s.latencies(since);
  return {
    rate_per_s: RATE,
    tasks: total,
    completed: lat.length,
    manager_cpu_us_per_task: managerCpuUsPerTask,
    cpu_us_per_task: cpuUsPerTask,
    ...all,
    p50_ms: pct(lat, 50),
    p95_ms: pct(lat, 95),
    p99_ms: pct(lat, 99),
    max_ms: lat[lat.length - 1],
    legs_p50_p95_p99_ms: await s.breakdown(since),
    ...db,
  };
}

const results = {
  date: new Date().toISOString(),
  machine: `${require('node:os').cpus().length} cores`,
  load_avg: loadavg().map((l) => +l.toFixed(2)),
  db: DB,
  runs: [],
};
try {
  for (const workers of WORKERS) {
    const s = await stack(workers);
    try {
      results.db_server ??= (await s.serverInfo()) ?? undefined;
      await sleep(IDLE_MS); // settled, before any task: the idle figures
      const idle = s.rss('now');
      if (WARMUP > 0) await throughput(s, WARMUP); // warm-up: JIT, SQLite cache, group joins
      const t = await throughput(s, TASKS);
      const l = await latencyAtRate(s);
      const load = s.rss('peak'); // VmHWM: each process's peak over both legs
      const rss_mib = {
        worker_idle: idle.worker,
        worker_load: load.worker,
        manager_idle: idle.manager,
        manager_load: load.manager,
        broker_idle: idle.broker,
        broker_load: load.broker,
      };
      results.runs.push({ db: DB, database: s.database, workers, throughput: t, latency: l, rss_mib });
      console.log(JSON.stringify({ workers, throughput: t, latency: l, rss_mib }));
    } finally {
      await s.stop();
    }
  }
} finally {
  agent.destroy();
  for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL');
  for (const db of dbs)
    await db.close().catch((err) => console.error(`closing the bench database: ${err.message}`));
}
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(results, null, 2));
console.table(
  results.runs.map((r) => ({
    workers: r.workers,
    'completed/s': r.throughput.completed_per_s,
    'cpu µs/task': r.throughput.cpu_us_per_task,
    'p50 ms': r.latency.p50_ms,
    'p95 ms': r.latency.p95_ms,
    'p99 ms': r.latency.p99_ms,
    'mgr µs/POST task': r.latency.manager_cpu_us_per_task,
  })),
);
