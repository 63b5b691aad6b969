// The WAL checkpoint thread: it keeps a file's WAL bounded while the writing connection never
// checkpoints, reports a failure once (naming the file), and lets the store remove its WAL on close;
// a store whose thread fails checkpoints on its own connection again.
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { createTestSqliteFile } from '@taskwire/testkit';
import type { TestSqliteFile } from '@taskwire/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask } from '../contract/fixtures.js';
import { startCheckpointer } from './checkpointer.js';
import type { Checkpointer } from './checkpointer.js';
import { createSqliteStore } from './index.js';
import type { Store } from '../types.js';

const ROUND_BYTES = 512 * 1024;

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const walBytes = (file: string): number => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

/**
 * Whether every frame in the WAL has been copied back: the wal-index (`<file>-shm`, see SQLite's
 * "WAL-mode file format") holds the last valid frame (`mxFrame`, bytes 16–19 of its header) and
 * how many frames a checkpoint has copied back (`nBackfill`, bytes 96–99), in native byte order.
 * Then the next writer starts the log over. Read from the file, not from the thread's reports,
 * which reach the test later than the checkpoint happened.
 */
function backfilled(file: string): boolean {
  const shm = readFileSync(`${file}-shm`);
  const u32 = (at: number) => (endianness() === 'LE' ? shm.readUInt32LE(at) : shm.readUInt32BE(at));
  return u32(96) === u32(16);
}

/**
 * 6,000 tasks of ~2 KB params in 30 units of work (about 30 MiB of WAL frames with their index
 * pages), `between` awaited after each; returns the largest the WAL file grew meanwhile.
 */
async function write6000Tasks(store: Store, file: string, between: () => Promise<void>): Promise<number> {
  let largest = 0;
  for (let round = 0; round < 30; round++) {
    await store.unitOfWork(async (tx) => {
      await tx.insertTasks(
        Array.from({ length: 200 }, () => makeTask({ params: { pad: 'x'.repeat(2000) } })),
      );
    });
    largest = Math.max(largest, walBytes(file));
    await between();
  }
  return largest;
}

describe('WAL checkpoint thread', () => {
  let f: TestSqliteFile;
  let writer: Database.Database;
  let checkpointer: Checkpointer | undefined;

  beforeEach(() => {
    f = createTestSqliteFile();
    writer = new Database(f.file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  });
  afterEach(async () => {
    await checkpointer?.stop();
    checkpointer = undefined;
    writer.close();
    f.cleanup();
  });

  const writeRound = (): void => {
    const insert = writer.prepare('INSERT INTO blobs (body) VALUES (?)');
    writer.transaction(() => {
      for (let i = 0; i < ROUND_BYTES / 4096; i++) insert.run(Buffer.alloc(4000, i));
    })();
  };

  it('keeps the WAL a few rounds of writes long at most while the writing connection never checkpoints', async () => {
    let complete = 0;
    checkpointer = startCheckpointer({
      file: f.file,
      intervalMs: 10,
      onFailure: (reason) => {
        throw new Error(`unexpected failure: ${reason}`);
      },
      onCheckpoint: (log, checkpointed) => {
        if (log === checkpointed) complete++;
      },
    });
    let largest = 0;
    for (let round = 0; round < 20; round++) {
      writeRound();
      largest = Math.max(largest, walBytes(f.file));
      // Copied back in full by the thread (without it, never): the next transaction starts the log over.
      await until(() => backfilled(f.file), `the checkpoint after round ${round}`);
    }
    // Each round's checkpoint is reported, complete, at least once.
    await until(() => complete >= 20, 'a complete checkpoint reported for every round');
    // 20 rounds wrote 10 MiB; without the thread the WAL would hold all of it. A round whose
    // transaction begins while the thread reads data_version appends instead of starting over.
    expect(largest).toBeGreaterThan(ROUND_BYTES);
    expect(largest).toBeLessThan(8 * ROUND_BYTES);
    expect(writer.prepare('SELECT count(*) AS n FROM blobs').get()).toEqual({ n: 20 * (ROUND_BYTES / 4096) });
  });

  it('a thread that cannot open its file reports that once, naming the file', async () => {
    const reasons: string[] = [];
    const missing = `${f.dir}/no-such.db`;
    checkpointer = startCheckpointer({ file: missing, onFailure: (reason) => reasons.push(reason) });
    await until(() => reasons.length > 0, 'the failure');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(missing);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('sqlite store and its checkpoint thread', () => {
  let f: TestSqliteFile;
  beforeEach(() => {
    f = createTestSqliteFile();
  });
  afterEach(() => f.cleanup());

  it('commits never grow the WAL without bound, and close() stops the thread and removes the WAL', async () => {
    const store = createSqliteStore({ file: f.file, checkpointIntervalMs: 10 });
    await store.migrate();
    const largest = await write6000Tasks(store, f.file, () =>
      until(() => backfilled(f.file), 'the thread to copy the round back'),
    );
    // Without the thread (its connection never checkpoints) the WAL would hold all 30 MiB, and
    // the wait above would time out.
    expect(largest).toBeLessThan(6 * 1024 * 1024);
    await store.close();
    // The thread's connection closed first, so the store's was the last: it removed the WAL.
    expect(existsSync(`${f.file}-wal`)).toBe(false);
    const check = new Database(f.file, { readonly: true });
    expect(check.prepare('SELECT count(*) AS n FROM tasks').get()).toEqual({ n: 6000 });
    check.close();
  });

  it('when the thread cannot run, the store says so naming the file and checkpoints on its own connection again', async () => {
    const lines: Array<{ msg: string; file?: string; reason?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const store = createSqliteStore({ file: f.file, logger });
    // The store's connection has the file open; the thread, still starting, finds no file at that
    // path. The file is put back before the store uses it again (SQLite refuses a renamed file).
    const moved = `${f.file}.moved`;
    renameSync(f.file, moved);
    await until(() => lines.length > 0, 'the warning');
    renameSync(moved, f.file);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe('WAL checkpoints are back on the main connection');
    expect(lines[0]!.reason).toContain(f.file);
    await store.migrate();
    const largest = await write6000Tasks(store, f.file, async () => {});
    // About 30 MiB of WAL frames: without checkpoints on either side the WAL would hold them all.
    expect(largest).toBeLessThan(8 * 1024 * 1024);
    await store.close();
    const check = new Database(f.file, { readonly: true });
    expect(check.prepare('SELECT count(*) AS n FROM tasks').get()).toEqual({ n: 6000 });
    check.close();
  });
});
