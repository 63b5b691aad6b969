// The root logger's stdout, in a child process: lines written in chunks still come out while the
// process runs (periodic flush) and every one of them at exit, in order.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built logger (the build runs before the tests), as the services load it.
const LOGGER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist/logger.js');

/** Runs `body` in a child with `logger` created as a service creates it; collects its stdout lines. */
function child(body: string) {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};
    const logger = createLogger({ name: 'child', level: 'info', pretty: false });
    ${body}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let rest = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) lines.push(p);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, lines, exited };
}

async function waitFor(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('root logger on stdout', () => {
  it('a line shorter than the buffer comes out while the process keeps running', async () => {
    // The child logs one line, then stays alive until its stdin closes.
    const { proc, lines, exited } = child(
      "logger.info({ n: 1 }, 'first'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));",
    );
    await waitFor('the line before exit', () => lines.length > 0);
    expect(proc.exitCode).toBeNull();
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'child', msg: 'first', n: 1 });
    proc.stdin.end();
    expect(await exited).toBe(0);
  });

  it('every line logged just before process.exit is written, in order', async () => {
    const { lines, exited } = child(
      "for (let i = 0; i < 500; i++) logger.info({ i }, 'line'); logger.fatal('last'); process.exit(3);",
    );
    expect(await exited).toBe(3);
    await waitFor('stdout to drain', () => lines.length >= 501);
    expect(lines.slice(0, 500).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(
      Array.from({ length: 500 }, (_, i) => i),
    );
    expect(JSON.parse(lines[500]!)).toMatchObject({ msg: 'last', level: 60 });
  });
});
