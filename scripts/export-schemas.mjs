// Writes the JSON Schema of each Kafka message (from @taskwire/contracts, built) to docs/schemas/.
// Run after `npm run build`: `npm run export-schemas`. packages/contracts/src/published.test.ts
// fails while the checked-in files differ from what this would write.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publishedMessageSchemas } from '../packages/contracts/dist/index.js';

const dir = fileURLToPath(new URL('../docs/schemas/', import.meta.url));
mkdirSync(dir, { recursive: true });
const files = publishedMessageSchemas();
// A schema dropped from contracts leaves no stale file behind.
for (const name of readdirSync(dir)) if (name.endsWith('.json') && !(name in files)) rmSync(dir + name);
for (const [name, text] of Object.entries(files)) writeFileSync(dir + name, text);
process.stdout.write(`wrote ${Object.keys(files).length} schemas to docs/schemas/\n`);
