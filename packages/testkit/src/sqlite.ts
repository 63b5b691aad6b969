// Test fixture: a SQLite database file in its own temp directory, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestSqliteFile {
  /** Path of the database file (not created yet: the store creates it). */
  file: string;
  dir: string;
  /** Removes the directory with the file and its -wal/-shm companions. */
  cleanup(): void;
}

export function createTestSqliteFile(name = 'taskwire.db'): TestSqliteFile {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-sqlite-'));
  return {
    file: join(dir, name),
    dir,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
