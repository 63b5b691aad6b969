// Runs every benchmark in turn (npm run bench); each writes its figures to bench/results/<name>.json.
// `npm run bench -- <name…> [--options]` runs only the named ones and hands them the options, e.g.
// `npm run bench -- compare --rounds 3` (bench/compare.mjs: Taskwire against BullMQ, not in the default set).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const scripts = {
  'dev-broker': 'dev-broker.mjs',
  'create-tasks': 'create-tasks.mjs',
  scheduler: 'scheduler.mjs',
  pipeline: 'pipeline.mjs',
  'json-schema': 'json-schema.mjs',
  metrics: 'metrics.mjs',
  'sse-fanout': 'sse-fanout.mjs',
  workflow: 'workflow.mjs',
  admission: 'admission.mjs',
  dashboard: 'dashboard.mjs',
  bullmq: 'peers/bullmq.mjs',
  compare: 'compare.mjs',
  retention: 'retention.mjs',
};
const defaults = [
  'dev-broker',
  'create-tasks',
  'scheduler',
  'pipeline',
  'json-schema',
  'metrics',
  'sse-fanout',
  'workflow',
  'retention',
  'admission',
  'dashboard',
];
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const unknown = names.filter((n) => !(n in scripts));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(', ')}; known: ${Object.keys(scripts).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of names.length === 0 ? defaults : names) {
  console.log(`\n=== bench/${scripts[name]} ===`);
  const run = spawnSync(process.execPath, [path.join(here, scripts[name]), ...options], {
    stdio: 'inherit',
    cwd: here,
  });
  if (run.status !== 0) {
    failed++;
    console.error(`bench/${scripts[name]} failed with exit code ${run.status}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
