// Runs every benchmark in turn (npm run bench); each writes its figures to bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = ['dev-broker', 'create-tasks', 'scheduler', 'pipeline'].filter(
  (b) => only.length === 0 || only.includes(b),
);

let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench/${name}.mjs ===`);
  const run = spawnSync(process.execPath, [path.join(here, `${name}.mjs`)], { stdio: 'inherit', cwd: here });
  if (run.status !== 0) {
    failed++;
    console.error(`bench/${name}.mjs failed with exit code ${run.status}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
