// Floor for bench/http-create.mjs: bench/floor/http-only.mjs plus one SQLite row per POST (WAL,
// synchronous = NORMAL, as the manager's store), the requests of each 2 ms group committed in one
// transaction (CREATE_COMMIT_INTERVAL_MS' default) before they are answered. One table with a text
// primary key and no other index: no validation, events, outbox or admission.
// Run as a variant: BENCH_ROOTS=bench/floor/http-sqlite.mjs,.  (DB_DSN: the file, as for the manager).
import { createRequire } from 'node:module';
import { grouped, send, serve } from './http-only.mjs';

const Database = createRequire(new URL('../../services/task-manager/package.json', import.meta.url))(
  'better-sqlite3',
);
const db = new Database(process.env.DB_DSN ?? ':memory:');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(
  'CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, status TEXT, params TEXT, created_at INTEGER)',
);
const insert = db.prepare('INSERT INTO tasks VALUES (?, ?, ?, ?)');
const commitGroup = db.transaction((group) => {
  for (const t of group) insert.run(t.id, 'QUEUED', t.params, t.createdAt);
});

let n = 0;
const add = grouped((group) => {
  commitGroup(group);
  for (const t of group) t.answer();
});

serve((body, res) => {
  const task = {
    id: `t${String(n++).padStart(12, '0')}`,
    params: JSON.stringify(body.params ?? null),
    createdAt: Date.now(),
    answer: () =>
      send(res, 201, {
        id: task.id,
        status: 'QUEUED',
        params: body.params ?? null,
        created_at: new Date(task.createdAt).toISOString(),
      }),
  };
  add(task);
});
