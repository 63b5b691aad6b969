// Unit tests of the queries both store dialects share: how they render on each, and the merge helpers.
import { MySqlDialect } from 'drizzle-orm/mysql-core';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { at, makeTask } from './contract/fixtures.js';
import * as mysql from './mysql/schema.js';
import { earliest, mergeDue, storeQueries } from './queries.js';
import * as sqlite from './sqlite/schema.js';

const dialects = [
  ['sqlite', new SQLiteSyncDialect(), storeQueries(sqlite)],
  ['mysql', new MySqlDialect(), storeQueries(mysql)],
] as const;

describe('shared store queries', () => {
  it.each(dialects)(
    'spell statuses as literals on %s, as the SQLite partial indexes need',
    (_name, dialect, q) => {
      for (const [query, status] of [
        [q.duePending(at(0), 10), 'PENDING'],
        [q.dueRetrying(at(0), 10), 'RETRYING'],
        [
          q.lostDispatches({ queue: 'q', partition: 0, belowOffset: 5, queuedBefore: at(0), limit: 10 }),
          'QUEUED',
        ],
      ] as const) {
        const { sql, params } = dialect.sqlToQuery(query.where!);
        expect(sql).toContain(`= '${status}'`);
        expect(params).not.toContain(status);
      }
      expect(dialect.sqlToQuery(q.activeOf('t')!).sql).toContain(
        `IN ('PENDING', 'WAITING', 'QUEUED', 'RUNNING', 'RETRYING')`,
      );
    },
  );

  it.each(dialects)('bind every filter value as a parameter on %s', (_name, dialect, q) => {
    const list = q.list({
      status: ['FAILED'],
      templateId: "t'1",
      createdFrom: at(0),
      beforeId: 'Z',
      limit: 5,
    });
    const { sql, params } = dialect.sqlToQuery(list.where!);
    expect(params).toEqual(expect.arrayContaining(['FAILED', "t'1", 'Z']));
    expect(sql).not.toContain("t'1");
  });

  it('mergeDue puts PENDING and RETRYING tasks in due order, ties by id, up to the limit', () => {
    const pending = [
      makeTask({ id: 'B', status: 'PENDING', runAt: at(20) }),
      makeTask({ id: 'D', status: 'PENDING', runAt: at(40) }),
    ];
    const retrying = [
      makeTask({ id: 'A', status: 'RETRYING', nextAttemptAt: at(20) }),
      makeTask({ id: 'C', status: 'RETRYING', nextAttemptAt: at(30) }),
    ];
    expect(mergeDue(pending, retrying, 3).map((t) => t.id)).toEqual(['A', 'B', 'C']);
  });

  it('earliest is the earlier of two times, either may be missing', () => {
    expect(earliest(at(2), at(1))).toEqual(at(1));
    expect(earliest(null, at(1))).toEqual(at(1));
    expect(earliest(at(2), undefined)).toEqual(at(2));
    expect(earliest(undefined, null)).toBeNull();
  });
});
