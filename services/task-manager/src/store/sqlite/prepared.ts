// Hand-prepared statements for the hot reads and the outbox marking, rows mapped as drizzle maps them.
//
// Why: drizzle builds its SQL and better-sqlite3 re-prepares the statement on every call; for the
// one-row lookups of the result and create paths that costs several times the read itself. Rows
// still go through each column's own mapFromDriverValue (as drizzle's mapResultRow does: NULL
// stays null), so the schema in schema.ts stays the one source of truth for names and encodings.
import type { Column } from 'drizzle-orm';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * A LIMIT taken from a bound parameter. A bare `LIMIT ?` makes SQLite (3.53) prepare the
 * statement again at every run (its planner reads the bound limit, so a new binding expires the
 * plan): measured 17 vs 3.5 µs per run of a one-key head read, and ~80 µs per branch of a
 * many-key one. An expression over the parameter is not read by the planner: compiled once.
 */
export const BOUND_LIMIT = 'LIMIT CAST(? AS INTEGER)';

/** Most ids bound in one cached IN-list statement; longer lists run as several statements. */
const MAX_IN = 512;

export interface RowReader<Row> {
  /** The quoted column list, in the order `map` expects. */
  readonly columns: string;
  /** One raw row (better-sqlite3 `.raw()` array) as a record. */
  map(raw: unknown[]): Row;
}

export function rowReader<Row>(columns: Record<string, Column>): RowReader<Row> {
  const keys = Object.keys(columns);
  const cols = Object.values(columns);
  return {
    columns: cols.map((c) => `"${c.name}"`).join(', '),
    map(raw) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const value = raw[i];
        row[keys[i]!] = value === null ? null : cols[i]!.mapFromDriverValue(value);
      }
      return row as Row;
    },
  };
}

/** A prepared statement returning raw rows, mapped by `reader`. */
export function preparedRows<Row>(
  client: BetterSqlite3.Database,
  reader: RowReader<Row>,
  sql: string,
): (...params: unknown[]) => Row[] {
  // Prepared on first use: the store is created before its migrations have made the tables.
  let stmt: BetterSqlite3.Statement | undefined;
  return (...params) => {
    stmt ??= client.prepare(sql).raw(true);
    return (stmt.all(...params) as unknown[][]).map((r) => reader.map(r));
  };
}

/**
 * A statement with one `IN (…)` list, for any number of keys through a few cached statements: the
 * keys go in runs of at most 512, each padded up to a power of two by repeating its last key (a
 * repeated key in IN matches no row twice). `sqlFor` gets the `?, ?, …` of one size.
 */
function inListStatements(
  client: BetterSqlite3.Database,
  sqlFor: (marks: string) => string,
  raw: boolean,
): (keys: readonly unknown[], each: (stmt: BetterSqlite3.Statement, run: unknown[]) => void) => void {
  const bySize = new Map<number, BetterSqlite3.Statement>();
  return (keys, each) => {
    for (let from = 0; from < keys.length; from += MAX_IN) {
      const run = keys.slice(from, from + MAX_IN);
      let size = 1;
      while (size < run.length) size *= 2;
      const last = run[run.length - 1];
      while (run.length < size) run.push(last);
      let stmt = bySize.get(size);
      if (!stmt) {
        stmt = client.prepare(sqlFor(run.map(() => '?').join(', ')));
        if (raw) stmt.raw(true);
        bySize.set(size, stmt);
      }
      each(stmt, run);
    }
  };
}

/** `SELECT <columns> FROM <table> WHERE <column> IN (…)` for any number of keys. */
export function preparedIn<Row>(
  client: BetterSqlite3.Database,
  reader: RowReader<Row>,
  table: string,
  column: string,
): (keys: readonly unknown[]) => Row[] {
  const runs = inListStatements(
    client,
    (marks) => `SELECT ${reader.columns} FROM "${table}" WHERE "${column}" IN (${marks})`,
    true,
  );
  return (keys) => {
    const out: Row[] = [];
    runs(keys, (stmt, run) => {
      for (const raw of stmt.all(run) as unknown[][]) out.push(reader.map(raw));
    });
    return out;
  };
}

/**
 * A write with leading parameters and one `IN (…)` list (`sqlFor` gets its marks), for any number
 * of keys; returns the rows changed. Several runs are atomic only inside the caller's transaction.
 */
export function preparedWriteIn(
  client: BetterSqlite3.Database,
  sqlFor: (marks: string) => string,
): (leading: readonly unknown[], keys: readonly unknown[]) => number {
  const runs = inListStatements(client, sqlFor, false);
  return (leading, keys) => {
    let changes = 0;
    runs(keys, (stmt, run) => {
      changes += stmt.run(...leading, run).changes;
    });
    return changes;
  };
}

/**
 * A write with leading parameters and one `IN (…)` list that `RETURNING`s one column (`sqlFor`
 * gets the marks), for any number of keys; returns the values of the rows it changed.
 */
export function preparedWriteInReturning(
  client: BetterSqlite3.Database,
  sqlFor: (marks: string) => string,
): (leading: readonly unknown[], keys: readonly unknown[]) => unknown[] {
  const runs = inListStatements(client, sqlFor, true);
  return (leading, keys) => {
    const out: unknown[] = [];
    runs(keys, (stmt, run) => {
      for (const raw of stmt.all(...leading, run) as unknown[][]) out.push(raw[0]);
    });
    return out;
  };
}
