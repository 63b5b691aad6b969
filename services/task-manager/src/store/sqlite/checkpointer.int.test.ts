// The WAL checkpoint thread: it does the checkpoints commits no longer do, the WAL file is reused
// instead of growing, and a lost thread hands checkpoints back to the connection.
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createTestSqliteFile } from '@taskwire/testkit';
import type { TestSqliteFile } from '@taskwire/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask } from '../contract/fixtures.js';
import { createSqliteStore } from './index.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startCheckpointer } from './checkpointer.js';
import type { CheckpointStats } from './checkpointer.js';

async function waitFor(what: string, ok: () => boolean, ms = 20_000) {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits for a run that started after now and found the whole WAL in the database file. */
async function caughtUp(what: string, stats: () => CheckpointStats) {
  const runs = stats().runs;
  await waitFor(`a checkpoint of ${what}`, () => {
    const s = stats();
    return s.runs > runs + 1 && s.walFrames > 0 && s.checkpointedFrames === s.walFrames;
  });
}

describe('sqlite WAL checkpoint thread', () => {
  let file: TestSqliteFile;
  let db: Database.Database;
  beforeEach(() => {
    file = createTestSqliteFile();
    db = new Database(file.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // As the store sets it: commits never reach the threshold in these tests.
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  });
  afterEach(() => {
    if (db.open) db.close();
    file.cleanup();
  });

  const insert = (n: number) => {
    const stmt = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < n; i++) stmt.run('x'.repeat(2_000)); // one commit and about one page each
  };
  const walBytes = () => statSync(`${file.file}-wal`).size;

  it('copies the frames commits leave in the WAL into the database file', async () => {
    const cp = startCheckpointer({ file: file.file, intervalMs: 20, onLost: () => {} });
    try {
      insert(1_500);
      await caughtUp('1,500 commits', () => cp.stats());
      expect(cp.stats().checkpointedFrames).toBeGreaterThanOrEqual(1_500);
      // Nothing is left for a checkpoint on this connection to do.
      const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
      expect(row!.checkpointed).toBe(row!.log);
    } finally {
      await cp.stop();
    }
  });

  it('lets the WAL file be reused: rounds of writes do not grow it, where without the thread they do', async () => {
    const rounds = async (checkpointed: boolean) => {
      const cp = checkpointed
        ? startCheckpointer({ file: file.file, intervalMs: 20, onLost: () => {} })
        : null;
      const sizes: number[] = [];
      try {
        for (let r = 0; r < 6; r++) {
          insert(500);
          if (cp) await caughtUp('the round', () => cp.stats());
          sizes.push(walBytes());
        }
      } finally {
        await cp?.stop();
      }
      return sizes;
    };
    const withThread = await rounds(true);
    // A round that starts while a checkpoint still runs may append instead of restarting the WAL.
    expect(withThread[5]).toBeLessThan(withThread[0]! * 3);
    // The control: the same writes with nobody checkpointing grow the WAL every round.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const without = await rounds(false);
    expect(without[5]).toBeGreaterThan(without[0]! * 5);
  });

  it('reports a thread that ends on its own, once, and not one that was stopped', async () => {
    const lost: Error[] = [];
    const stopped = startCheckpointer({ file: file.file, intervalMs: 20, onLost: (e) => lost.push(e) });
    await stopped.stop();
    await stopped.stop();
    expect(lost).toEqual([]);
    // A database that is not there fails the thread at its start.
    const failing = startCheckpointer({
      file: `${file.dir}/missing.db`,
      intervalMs: 20,
      onLost: (e) => lost.push(e),
    });
    await waitFor('the failed thread to be reported', () => lost.length > 0);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(
      /^sqlite checkpoint thread failed: .*(directory does not exist|unable to open)/i,
    );
    await failing.stop();
  });
});

describe('sqlite store with the checkpoint thread', () => {
  let file: TestSqliteFile;
  afterEach(() => file.cleanup());

  it('keeps the WAL bounded under many small units of work, and closes cleanly', async () => {
    file = createTestSqliteFile();
    const store = createSqliteStore({ file: file.file, checkpointIntervalMs: 20 });
    await store.migrate();
    const sizes: number[] = [];
    for (let r = 0; r < 6; r++) {
      for (let i = 0; i < 300; i++) await store.insertTasks([makeTask()]);
      // Everything in the WAL so far (the 300 commits' frames) is in the database file.
      await caughtUp('the round', () => store.walCheckpoints()!);
      sizes.push(walSize(file.file));
    }
    // A round that starts while a checkpoint still runs appends instead of restarting the WAL, so
    // it may grow now and then; without checkpoints it would be about six times the first round.
    expect(sizes[5]).toBeLessThan(sizes[0]! * 3);
    await store.close();
    // The last connection to close checkpoints and removes the WAL: the thread's was closed first.
    expect(() => statSync(`${file.file}-wal`)).toThrow();
  });
});

const walSize = (f: string) => statSync(`${f}-wal`).size;
