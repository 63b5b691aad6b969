// Floor for bench/pipeline.mjs: the least a manager of this design does per task, on the same parts
// (node:http, better-sqlite3, kafkajs), with none of the product around it. Run it in the
// manager's place: BENCH_MANAGER=bench/floor/manager.mjs node bench/pipeline.mjs.
//
// Per task it keeps what the delivery guarantees need: the task row and its outbox row written in
// one transaction (requests group-committed every 2 ms, a batch request in one), a relay that
// publishes unsent outbox rows in id order (acks -1) and then marks them sent, and a result
// consumer that applies the `started` / `succeeded` messages of each fetch in one transaction
// before their offsets are committed (once a second). Task ids are time-ordered, as the manager's.
// It leaves out everything else a manager does: templates (one fixed echo template), validation of
// params and messages, events, retries and timeouts, metrics, auth, logging. Admission it keeps
// only for a template created with concurrency_key and concurrency_limit (BENCH_KEYS): exact per-key
// limits counted from the task rows inside the transaction that changes them (as the manager's),
// a task over its key's limit stored WAITING, and the oldest WAITING task of a key queued in the
// result transaction that freed its slot. It answers what the bench asks: GET /readyz, GET /workers
// (from the heartbeats), POST /templates, POST /tasks, POST /tasks/batch; its tables have the
// columns the bench reads.
import { createRequire } from 'node:module';
import http from 'node:http';
import { envNumber } from '../helpers.mjs';
import { grouped, send } from './http-only.mjs';

const require = createRequire(new URL('../../services/task-manager/package.json', import.meta.url));
const Database = require('better-sqlite3');
const { Kafka, logLevel } = require('kafkajs');

const [host, port] = (process.env.SERVER_ADDR ?? '127.0.0.1:8080').split(':');
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const TOPICS = {
  dispatch: 'task_execution_requests',
  results: 'task_results',
  control: 'task_control',
  heartbeats: 'task_worker_heartbeats',
  schemas: 'taskwire.schemas',
};
const TEMPLATE_ID = 'floor-echo';
/** The relay's linger and the group commit's interval (the manager's KAFKA_RELAY_LINGER_MS and CREATE_COMMIT_INTERVAL_MS). */
const LINGER_MS = envNumber('FLOOR_LINGER_MS', 2);

const db = new Database(process.env.DB_DSN ?? ':memory:');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL, params TEXT, result TEXT,
    attempt INTEGER NOT NULL, created_at INTEGER NOT NULL, queued_at INTEGER, updated_at INTEGER NOT NULL,
    concurrency_key TEXT);
  CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, key TEXT NOT NULL,
    payload TEXT NOT NULL, sent_at INTEGER);
  CREATE INDEX IF NOT EXISTS outbox_sent_at_idx ON outbox (sent_at);
  CREATE TABLE IF NOT EXISTS task_events (task_id TEXT, attempt INTEGER, type TEXT, data TEXT);
`);
const insertTask = db.prepare(
  `INSERT INTO tasks (id, status, params, attempt, created_at, queued_at, updated_at) VALUES (?, 'QUEUED', ?, 1, ?, ?, ?)`,
);
/** The template's concurrency key (a top-level params property) and limit, once a keyed template is created. */
let keyed = null;
const keyedStatements = () => ({
  insert: db.prepare(
    `INSERT INTO tasks (id, status, params, attempt, created_at, queued_at, updated_at, concurrency_key) VALUES (?, ?, ?, 1, ?, ?, ?, ?)`,
  ),
  inFlight: db
    .prepare(`SELECT count(*) FROM tasks WHERE concurrency_key = ? AND status IN ('QUEUED', 'RUNNING')`)
    .pluck(),
  heads: db.prepare(
    `SELECT id, params FROM tasks WHERE concurrency_key = ? AND status = 'WAITING' ORDER BY id LIMIT ?`,
  ),
  admit: db.prepare(
    `UPDATE tasks SET status = 'QUEUED', queued_at = ?, updated_at = ? WHERE id = ? AND status = 'WAITING'`,
  ),
});
const insertOutbox = db.prepare('INSERT INTO outbox (topic, key, payload) VALUES (?, ?, ?)');
const unsent = db.prepare(
  'SELECT id, topic, key, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1000',
);
const markSent = db.prepare('UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL AND id BETWEEN ? AND ?');
const started = db.prepare(
  `UPDATE tasks SET status = 'RUNNING', updated_at = ? WHERE id = ? AND attempt = ? AND status = 'QUEUED'`,
);
// Returns the task's key when it moved (its slot freed), so the result path reads nothing more.
const succeeded = db
  .prepare(
    `UPDATE tasks SET status = 'COMPLETED', result = ?, updated_at = ? WHERE id = ? AND attempt = ? AND status IN ('QUEUED', 'RUNNING') RETURNING concurrency_key`,
  )
  .pluck();

/** Task ids in creation order (each bench stack has a fresh database). */
let created = 0;
/** A task's dispatch message, as the worker reads it. */
const dispatchOf = (id, params, now) => ({
  v: 1,
  task_id: id,
  attempt: 1,
  template_id: TEMPLATE_ID,
  template_name: TEMPLATE_ID,
  executor: 'echo',
  queue: 'default',
  params,
  timeout_ms: 60_000,
  deadline: now + 86_400_000 + 60_000,
  queued_at: now,
});
/**
 * Inserts tasks (params each) with their outbox rows in one transaction; a keyed task over its key's
 * limit is inserted WAITING, with no outbox row. Returns their ids and statuses.
 */
const createAll = db.transaction((paramsList) => {
  const now = Date.now();
  /** In-flight tasks per key, this transaction's included (read once per key). */
  const load = new Map();
  return paramsList.map((params) => {
    const id = `task-${String(created++).padStart(12, '0')}`;
    if (keyed) {
      const key = String(params?.[keyed.property]);
      const n = load.get(key) ?? keyed.sql.inFlight.get(key);
      const queued = n < keyed.limit;
      load.set(key, queued ? n + 1 : n);
      keyed.sql.insert.run(
        id,
        queued ? 'QUEUED' : 'WAITING',
        JSON.stringify(params),
        now,
        queued ? now : null,
        now,
        key,
      );
      if (queued) insertOutbox.run(TOPICS.dispatch, id, JSON.stringify(dispatchOf(id, params, now)));
      return { id, status: queued ? 'QUEUED' : 'WAITING' };
    }
    insertTask.run(id, JSON.stringify(params), now, now, now);
    insertOutbox.run(TOPICS.dispatch, id, JSON.stringify(dispatchOf(id, params, now)));
    return { id, status: 'QUEUED' };
  });
});

const applyResults = db.transaction((messages) => {
  const now = Date.now();
  /** Keys whose slots freed in this transaction. */
  const freed = new Set();
  for (const m of messages) {
    if (m.type === 'started') started.run(now, m.task_id, m.attempt);
    else if (m.type === 'succeeded') {
      const key = succeeded.get(JSON.stringify(m.result ?? null), now, m.task_id, m.attempt);
      if (keyed && key !== undefined) freed.add(key);
    }
  }
  // The freed slots taken again in the same transaction: each key's oldest waiting tasks.
  for (const key of freed) {
    const room = keyed.limit - keyed.sql.inFlight.get(key);
    if (room <= 0) continue;
    for (const { id, params } of keyed.sql.heads.all(key, room)) {
      keyed.sql.admit.run(now, now, id);
      insertOutbox.run(TOPICS.dispatch, id, JSON.stringify(dispatchOf(id, JSON.parse(params), now)));
    }
  }
  return freed.size > 0;
});

const kafka = new Kafka({ clientId: 'floor-manager', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const existing = new Set(await admin.listTopics());
await admin.createTopics({
  waitForLeaders: true,
  topics: [
    ...[TOPICS.dispatch, TOPICS.results, TOPICS.control, TOPICS.heartbeats].map((topic) => ({
      topic,
      numPartitions: 12,
    })),
    {
      topic: TOPICS.schemas,
      numPartitions: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
  ].filter((t) => !existing.has(t.topic)),
});
await admin.disconnect();

// --- Relay: unsent outbox rows in id order, published, then marked sent -------------------------
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
let relaying = false;
let wanted = false;
async function relay() {
  wanted = true;
  if (relaying) return;
  relaying = true;
  try {
    while (wanted) {
      wanted = false;
      const rows = unsent.all();
      if (rows.length === 0) break;
      await producer.send({
        topic: TOPICS.dispatch,
        acks: -1,
        messages: rows.map((r) => ({ key: r.key, value: r.payload })),
      });
      markSent.run(Date.now(), rows[0].id, rows.at(-1).id);
      wanted = true;
      await new Promise((r) => setTimeout(r, LINGER_MS));
    }
  } finally {
    relaying = false;
  }
}

// --- Results: the batches of one fetch (every partition at once) in one transaction; offsets
// committed once a second, after the batches they cover were applied (as the manager does) --------
let pendingResults = [];
let applying = null;
function applySoon(messages) {
  pendingResults.push(...messages);
  applying ??= new Promise((resolve, reject) =>
    setImmediate(() => {
      const all = pendingResults;
      pendingResults = [];
      applying = null;
      try {
        if (applyResults(all)) void relay();
        resolve();
      } catch (err) {
        reject(err);
      }
    }),
  );
  return applying;
}
// The heartbeats (who is alive, for GET /workers) come through the same consumer, as in the manager.
const seen = new Map();
const consumer = kafka.consumer({ groupId: 'task-manager-results-group', maxWaitTimeInMs: 500 });
await consumer.connect();
await consumer.subscribe({ topics: [TOPICS.results, TOPICS.heartbeats], fromBeginning: true });
await consumer.run({
  autoCommitInterval: 1000,
  partitionsConsumedConcurrently: 64,
  eachBatch: async ({ batch }) => {
    const messages = batch.messages.map((m) => JSON.parse(m.value.toString('utf8')));
    if (batch.topic === TOPICS.results) return applySoon(messages);
    for (const hb of messages) seen.set(hb.worker_id, hb.stopping ? 0 : hb.at);
  },
});

// --- HTTP ----------------------------------------------------------------------------------------
const add = grouped((group) => {
  const created = createAll(group.map((g) => g.params));
  group.forEach((g, i) => g.answer(created[i]));
  void relay();
}, LINGER_MS);

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    if (req.url === '/workers') {
      const items = [...seen].map(([id, at]) => ({ worker_id: id, alive: Date.now() - at < 10_000 }));
      return send(res, 200, { items });
    }
    return send(res, 200, { status: 'ok' });
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (req.url === '/templates') {
      if (body.concurrency_key !== undefined) {
        // Keys are read from a top-level params property only.
        if (!/^\/[^/~]+$/.test(body.concurrency_key)) {
          return send(res, 400, {
            error: `concurrency_key must point at a top-level params property (e.g. "/k"), got ${JSON.stringify(body.concurrency_key)}`,
          });
        }
        const limit = body.concurrency_limit ?? 1;
        if (!Number.isInteger(limit) || limit < 1) {
          return send(res, 400, {
            error: `concurrency_limit must be an integer of at least 1, got ${JSON.stringify(limit)}`,
          });
        }
        // The admission index: in-flight counts and waiting heads per key.
        db.exec('CREATE INDEX IF NOT EXISTS tasks_admission_idx ON tasks (concurrency_key, status, id)');
        const property = body.concurrency_key.slice(1);
        keyed = { property, limit, sql: keyedStatements() };
      }
      return send(res, 201, { id: TEMPLATE_ID, name: body.name });
    }
    if (req.url === '/tasks/batch') {
      const items = createAll(body.tasks.map((t) => t.params ?? null));
      void relay();
      return send(res, 201, { items });
    }
    add({ params: body.params ?? null, answer: (task) => send(res, 201, task) });
  });
});
server.listen(Number(port), host);

process.on('SIGTERM', async () => {
  server.close();
  await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
  db.close();
  process.exit(0);
});
