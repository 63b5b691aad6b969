// drizzle-kit config for the SQLite migrations (drizzle/sqlite); see src/store/index.ts for usage.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/store/sqlite/schema.ts',
  out: '../../drizzle/sqlite',
});
