// drizzle-kit config for the MySQL/MariaDB migrations (drizzle/mysql); see src/store/index.ts for usage.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'mysql',
  schema: './src/store/mysql/schema.ts',
  out: '../../drizzle/mysql',
});
