// The pipeline bench on MariaDB (BENCH_DB=mysql node bench/pipeline.mjs) on a tiny workload: it completes
// every task, writes the database figures the README's MariaDB breakdown is made of, drops its database,
// and refuses a store it does not know. No timing thresholds.
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runBench, startNode, tempDir } from './support/processes.js';

// mysql2 is the testkit's dependency, not the root package's: load it from there (the little used here).
interface MysqlConnection {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
  end(): Promise<void>;
}
const mysql = createRequire(path.join(repoRoot, 'packages/testkit/package.json'))('mysql2/promise') as {
  createConnection(options: { host: string; port: number; user: string }): Promise<MysqlConnection>;
};

const TASKS = 200;
const RATE = 50;

interface DbFigures {
  statements_per_task: number;
  by_kind_per_task: Record<string, number>;
  round_trip_ms_per_task: number;
  sql_kb_per_task: number;
  server_cpu_us_per_task: number | null;
  server_process_cpu_us_per_task: number | null;
  server_wide_per_task: Record<string, number>;
  top_shapes: Array<{
    sql: string;
    per_task: number;
    ms_per_task: number;
    ms_each: number;
    kb_per_task: number;
  }>;
}
interface Leg {
  tasks: number;
  completed: number;
  legs_p50_p95_p99_ms?: Record<string, string>;
  db: DbFigures;
}
let output = '';
let exitCode: number | null = null;
let result: {
  db: string;
  db_server: Record<string, string>;
  runs: Array<{ db: string; database: string; workers: number; throughput: Leg; latency: Leg }>;
};
const tmp = tempDir('pipeline-bench-mysql');

beforeAll(async () => {
  const run = await runBench<typeof result>(
    'bench/pipeline.mjs',
    tmp.dir,
    { tasks: TASKS, rate: RATE },
    { BENCH_DB: 'mysql' },
  );
  exitCode = run.code;
  output = run.output;
  if (run.result) result = run.result;
}, 120_000);

afterAll(() => tmp.cleanup());

describe('bench/pipeline.mjs with BENCH_DB=mysql', () => {
  it('completes every task on MariaDB and reports what the database did per task, in both legs', () => {
    expect(exitCode, output).toBe(0);
    expect(result.db).toBe('mysql');
    expect(['0', '1', '2']).toContain(result.db_server.innodb_flush_log_at_trx_commit);
    expect(result.db_server.version).toEqual(expect.any(String));
    expect(result.runs).toHaveLength(1);
    const [run] = result.runs;
    expect(run!.db).toBe('mysql');
    expect(run!.database).toMatch(/^tw_test_/);
    expect(run!.throughput).toMatchObject({ tasks: TASKS, completed: TASKS });
    expect(run!.latency).toMatchObject({ tasks: RATE, completed: RATE });

    for (const leg of [run!.throughput, run!.latency]) {
      const db = leg.db;
      // The manager's own statements, counted inside it: every task is written, so there are inserts
      // (creation) and updates (its results), and some round-trip time.
      expect(db.statements_per_task).toBeGreaterThan(0);
      expect(db.by_kind_per_task.insert).toBeGreaterThan(0);
      expect(db.by_kind_per_task.update).toBeGreaterThan(0);
      const sum = Object.values(db.by_kind_per_task).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - db.statements_per_task)).toBeLessThan(
        0.01 * Object.keys(db.by_kind_per_task).length,
      );
      expect(db.round_trip_ms_per_task).toBeGreaterThan(0);
      expect(db.sql_kb_per_task).toBeGreaterThan(0);
      expect(db.top_shapes.length).toBeGreaterThan(0);
      for (const s of db.top_shapes) {
        expect(s.sql).not.toMatch(/'[^']*'/); // literals are folded, so a shape is one line of the table
        expect(s.per_task).toBeGreaterThan(0);
      }
      // The server runs on this machine in the test environment: its threads' CPU is found.
      expect(db.server_cpu_us_per_task).toBeGreaterThanOrEqual(0);
      expect(db.server_process_cpu_us_per_task).toBeGreaterThanOrEqual(0);
      expect(Object.keys(db.server_wide_per_task)).toEqual(
        expect.arrayContaining(['Questions', 'Com_commit', 'Com_update', 'Innodb_log_writes']),
      );
    }

    const legs = run!.latency.legs_p50_p95_p99_ms!;
    expect(Object.keys(legs)).toEqual(['queue', 'relay', 'dispatch', 'run', 'result']);
    for (const [name, v] of Object.entries(legs)) {
      const [p50, p95, p99] = v.split('/').map(Number);
      expect([p50, p95, p99].every(Number.isFinite), `${name}: ${v}`).toBe(true);
      expect(p50!, name).toBeLessThanOrEqual(p95!);
      expect(p95!, name).toBeLessThanOrEqual(p99!);
    }
  });

  it('drops its database when it is done', async () => {
    expect(exitCode, output).toBe(0);
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    try {
      const [rows] = await conn.query('SHOW DATABASES LIKE ?', [result.runs[0]!.database]);
      expect(rows).toEqual([]);
    } finally {
      await conn.end();
    }
  });

  it('refuses a BENCH_DB it does not know, naming it, before starting anything', async () => {
    const bench = startNode('pipeline-bench-bad-db', 'bench/pipeline.mjs', {
      BENCH_DB: 'postgres',
      BENCH_OUT: path.join(tmp.dir, 'never.json'),
    });
    const { code } = await bench.exited;
    expect(code).not.toBe(0);
    expect(bench.output()).toContain('BENCH_DB must be sqlite or mysql, got postgres');
  });
});
