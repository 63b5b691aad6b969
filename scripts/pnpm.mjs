// Runs the pinned pnpm through npx, so a fresh machine with only Node and npm needs nothing else
// (corepack fails its signature check on our machines).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const pinned = pkg.packageManager; // e.g. pnpm@9.15.9
const result = spawnSync('npx', ['--yes', pinned, ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: process.cwd(),
  env: { ...process.env, npm_config_update_notifier: 'false' },
});
if (result.error) {
  process.stderr.write(`could not run ${pinned} through npx: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
