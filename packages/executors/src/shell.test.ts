import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf, testContext } from '@taskwire/executor-sdk';
import type { ExecutorError } from '@taskwire/executor-sdk';
import { createShellExecutor, SHELL_MAX_TIMEOUT_MS, SHELL_PATH, shellExecutor } from './index.js';
import type { ShellParams } from './index.js';

const ctx = testContext;
const failure = (p: Promise<unknown>): Promise<ExecutorError> => rejectionOf<ExecutorError>(p);

const node = process.execPath;
/** A worker with WORKER_SHELL_PROGRAMS=<node>,env and WORKER_SHELL_ENV=X,GREETING. */
const shell = createShellExecutor({ programs: [node, 'env'], env: ['X', 'GREETING'] });
const run = (params: ShellParams, signal?: AbortSignal, executor = shell) =>
  Promise.resolve(executor.run(ctx(params, signal)));

describe('shell executor', () => {
  it('runs argv without a shell and returns exit code and output', async () => {
    const res = await run({
      argv: [node, '-e', 'process.stdout.write(process.argv[1] + process.env.X)', '$HOME;ls'],
      env: { X: '!' },
    });
    expect(res).toEqual({ exit_code: 0, stdout: '$HOME;ls!', stderr: '' });
  });

  it('fails retryably with the exit code on a non-zero exit', async () => {
    const err = await failure(run({ argv: [node, '-e', 'console.error("bad"); process.exit(3)'] }));
    expect(err).toMatchObject({ retryable: true, data: { exit_code: 3, stderr: 'bad\n' } });
    expect(err.message).toMatch(/exited with code 3$/);
  });

  it('cuts large output', async () => {
    const res = await run({ argv: [node, '-e', 'process.stdout.write("x".repeat(600000))'] });
    expect(res.stdout.length).toBe(256 * 1024);
    expect(res.truncated).toBe(true);
  });

  it('kills the process when the signal aborts', async () => {
    const ac = new AbortController();
    const p = run({ argv: [node, '-e', 'setTimeout(() => {}, 60000)'] }, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 50);
    const err = await failure(p);
    expect(err.message).toMatch(/aborted: Error: stop \(killed by SIGTERM\)$/);
  });

  it('says in its params schema how far timeout_ms goes', () => {
    const props = (shell.paramsSchema as { properties: Record<string, { maximum?: number }> }).properties;
    expect(props.timeout_ms?.maximum).toBe(SHELL_MAX_TIMEOUT_MS);
    expect(SHELL_MAX_TIMEOUT_MS).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});

describe('shell executor: sandbox', () => {
  const secret = 'TASKWIRE_TEST_WORKER_SECRET';
  beforeAll(() => {
    process.env[secret] = 'do-not-leak';
  });
  afterAll(() => {
    delete process.env[secret];
  });

  it('gives the child only PATH and the allowed keys the task names, none of the worker env', async () => {
    const res = await run({ argv: ['env'], env: { GREETING: 'hi' } });
    expect(res.stdout.trim().split('\n').sort()).toEqual(['GREETING=hi', `PATH=${SHELL_PATH}`]);
    const bare = await run({ argv: ['/usr/bin/env'] });
    expect(bare.stdout).toBe(`PATH=${SHELL_PATH}\n`);
  });

  it('refuses a program that is not in the allowlist, naming it and the allowlist', async () => {
    const err = await failure(run({ argv: ['sh', '-c', 'id'] }));
    expect(err).toMatchObject({ retryable: false, code: 'program_refused' });
    expect(err.message).toBe(`shell: program "sh" is not in WORKER_SHELL_PROGRAMS (allowed: env, ${node})`);
    expect((await failure(run({ argv: ['/tmp/env'] }))).message).toMatch(
      /^shell: program "\/tmp\/env" is not in WORKER_SHELL_PROGRAMS/,
    );
    expect((await failure(run({ argv: ['./env'] }))).message).toBe(
      'shell: program "./env" is not in WORKER_SHELL_PROGRAMS (is a relative path; only names and absolute paths can be allowed)',
    );
  });

  it('refuses every program when WORKER_SHELL_PROGRAMS is empty', async () => {
    const err = await failure(run({ argv: ['env'] }, undefined, shellExecutor));
    expect(err).toMatchObject({
      retryable: false,
      message:
        'shell: program "env" is not in WORKER_SHELL_PROGRAMS (WORKER_SHELL_PROGRAMS is empty: no program may run)',
    });
  });

  it('refuses NODE_OPTIONS and LD_PRELOAD in the task env, and keys not in WORKER_SHELL_ENV', async () => {
    const options = await failure(
      run({ argv: [node, '-e', ''], env: { NODE_OPTIONS: '--require /tmp/x.js' } }),
    );
    expect(options).toMatchObject({
      retryable: false,
      code: 'env_refused',
      message: 'shell: env NODE_OPTIONS can never be passed to a program (it changes how programs load)',
    });
    expect((await failure(run({ argv: ['env'], env: { LD_PRELOAD: '/tmp/x.so' } }))).message).toBe(
      'shell: env LD_PRELOAD can never be passed to a program (it changes how programs load)',
    );
    expect((await failure(run({ argv: ['env'], env: { HOME: '/root' } }))).message).toBe(
      'shell: env HOME is not in WORKER_SHELL_ENV (allowed: X, GREETING)',
    );
  });

  it('runs an allowed name only from the fixed PATH, also when given as that absolute path', async () => {
    expect((await run({ argv: ['/usr/bin/env'] })).exit_code).toBe(0);
    const missing = createShellExecutor({ programs: ['no-such-program-taskwire'] });
    expect((await failure(run({ argv: ['no-such-program-taskwire'] }, undefined, missing))).message).toBe(
      `shell: program "no-such-program-taskwire" is allowed but not found on ${SHELL_PATH}`,
    );
  });

  it('fails non-retryably when an allowed absolute program does not exist', async () => {
    const gone = createShellExecutor({ programs: ['/no/such/program'] });
    expect(await failure(run({ argv: ['/no/such/program'] }, undefined, gone))).toMatchObject({
      retryable: false,
    });
  });
});
