// Bench-only preload (`--import`) that counts the SQL statements a process sends through mysql2, by kind
// and by shape, with the wall time each took from send to result; bench/pipeline.mjs loads it into the
// manager under BENCH_DB=mysql, because the server's Com_* counters are global and other work shares
// the local MariaDB. Nothing in the process changes: it only subscribes to mysql2's diagnostics
// channels. On SIGUSR2 it writes a snapshot to BENCH_STATEMENTS_FILE as JSON:
// { seq, kinds: { select: { n, ms, kb }, … }, shapes: { "<normalized SQL>": { n, ms, kb }, … } } (kb: the
// statements' text, in thousands of characters: what mysql2 writes to the socket).
import { tracingChannel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_STATEMENTS_FILE;
const MAX_SHAPES = 300;
const kinds = {};
const shapes = new Map();
let seq = 0;

/**
 * The statement's shape: its first 400 characters with literals as `?` and value lists collapsed, cut to
 * 240 (a batch INSERT of 1,000 rows is one shape whatever the rows hold; only the head is read, so
 * the cost does not grow with the batch).
 */
function shape(sql) {
  return sql
    .slice(0, 400)
    .replace(/'(?:[^'\\]|\\.|'')*'?/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .replace(/\((?:\?|NULL|DEFAULT)(?:, ?(?:\?|NULL|DEFAULT))*\)?(?:, ?\((?:[^()]*\)?))*/gi, '(…)')
    .slice(0, 240);
}

function kindOf(sql) {
  const verb = /^\s*(\w+)(?:\s+(\w+))?/.exec(sql);
  const first = verb?.[1]?.toLowerCase() ?? 'other';
  if (first === 'start' || first === 'begin') return 'begin';
  if (first === 'with') return 'select';
  return ['select', 'insert', 'update', 'delete', 'commit', 'rollback', 'set', 'replace'].includes(first)
    ? first
    : 'other';
}

function count(ctx) {
  const ms = performance.now() - ctx.benchT0;
  const sql = typeof ctx.query === 'string' ? ctx.query : String(ctx.query?.sql ?? '');
  const k = (kinds[kindOf(sql)] ??= { n: 0, ms: 0, chars: 0 });
  k.n++;
  k.ms += ms;
  k.chars += sql.length;
  let key = shape(sql);
  if (!shapes.has(key) && shapes.size >= MAX_SHAPES) key = '(other shapes)';
  const s = shapes.get(key) ?? { n: 0, ms: 0, chars: 0 };
  s.n++;
  s.ms += ms;
  s.chars += sql.length;
  shapes.set(key, s);
}

const handlers = {
  start(ctx) {
    ctx.benchT0 = performance.now();
  },
  // Published when the result (or the error) arrives, before the caller's callback runs.
  asyncStart: count,
};
for (const name of ['mysql2:query', 'mysql2:execute']) tracingChannel(name).subscribe(handlers);

if (file) {
  process.on('SIGUSR2', () => {
    seq++;
    const round = (o) => ({ n: o.n, ms: Math.round(o.ms * 10) / 10, kb: Math.round(o.chars / 100) / 10 });
    writeFileSync(
      file,
      JSON.stringify({
        seq,
        kinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, round(v)])),
        shapes: Object.fromEntries([...shapes].map(([k, v]) => [k, round(v)])),
      }),
    );
  });
}
