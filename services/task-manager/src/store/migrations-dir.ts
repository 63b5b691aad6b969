// Finds drizzle/<dialect> (generated migrations at the repo root) from wherever this code runs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Walks up from this module (src/store/ under vitest, dist/store/ when built, or wherever a
 * bundle puts it) to the first directory holding drizzle/<dialect>/meta/_journal.json.
 * `override` (the `migrationsDir` option) wins when given.
 */
export function resolveMigrationsDir(dialect: 'sqlite' | 'mysql', override?: string): string {
  if (override !== undefined) {
    if (!existsSync(join(override, 'meta', '_journal.json'))) {
      throw new Error(
        `migrationsDir ${override} has no meta/_journal.json (not a drizzle migrations folder)`,
      );
    }
    return override;
  }
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'drizzle', dialect);
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`no drizzle/${dialect} migrations folder found above ${start}; pass migrationsDir`);
}
