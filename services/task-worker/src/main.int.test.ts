// The built worker as a real process (needs `tsc -b services/task-worker`): start-up refusals.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function runWorker(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Port 1: nothing listens there, so a worker that got past its checks would fail too, not hang.
    const child = spawn(process.execPath, [main], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

describe('task-worker process', () => {
  it('exits 1 naming every bad variable and what it accepts', async () => {
    const { code, stderr } = await runWorker({ WORKER_CONCURRENCY: 'lots', LOG_LEVEL: 'loud' });
    expect(code).toBe(1);
    expect(stderr).toContain('WORKER_CONCURRENCY="lots" is invalid: expected an integer from 1 to 1024');
    expect(stderr).toContain('LOG_LEVEL="loud" is invalid');
  });

  it('exits 1 naming the plugin that cannot be loaded', async () => {
    const { code, stderr } = await runWorker({ EXECUTORS: './no/such/plugin.js' });
    expect(code).toBe(1);
    expect(stderr).toContain('plugin ./no/such/plugin.js could not be loaded');
  });
});
