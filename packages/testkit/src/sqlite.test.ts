// The SQLite fixture: a fresh directory per call, removed by cleanup.
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTestSqliteFile } from './sqlite.js';

describe('createTestSqliteFile', () => {
  it('gives each call its own directory and cleanup removes it with the files', () => {
    const a = createTestSqliteFile();
    const b = createTestSqliteFile();
    expect(a.dir).not.toBe(b.dir);
    writeFileSync(a.file, 'x');
    writeFileSync(`${a.file}-wal`, 'x');
    a.cleanup();
    b.cleanup();
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(false);
  });
});
