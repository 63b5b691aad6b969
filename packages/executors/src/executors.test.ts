import { describe, expect, it } from 'vitest';
import { DEFAULT_PLUGIN_OPTIONS, rejectionOf, testContext } from '@taskwire/executor-sdk';
import type { Executor, ExecutorError } from '@taskwire/executor-sdk';
import { builtinExecutors, createExecutors, echoExecutor, httpExecutor, sleepExecutor } from './index.js';
import { createExecutors as createShellExecutors } from './shell.js';

const ctx = testContext;
const failure = (p: Promise<unknown>): Promise<ExecutorError> => rejectionOf<ExecutorError>(p);

describe('built-in executors', () => {
  it('builtinExecutors has echo, sleep and http but not shell', () => {
    expect(builtinExecutors.map((e) => e.name)).toEqual(['echo', 'sleep', 'http']);
  });

  it('createExecutors builds the same set with the worker policy applied to http', async () => {
    const made = [createExecutors({ ...DEFAULT_PLUGIN_OPTIONS, httpAllowHosts: ['127.0.0.1'] })].flat();
    expect(made.map((e) => e.name)).toEqual(['echo', 'sleep', 'http']);
    const http = made.find((e) => e.name === 'http') as Executor<{ method: string; url: string }>;
    expect(http).not.toBe(httpExecutor);
    // Nothing listens on port 9 here: the allowlisted address gets as far as connecting.
    const err = await failure(Promise.resolve(http.run(ctx({ method: 'GET', url: 'http://127.0.0.1:9/' }))));
    expect(err.message).toMatch(/^http GET http:\/\/127\.0\.0\.1:9\/ failed: /);
  });

  it('the shell plugin builds its executor from the worker policy, refusing bad entries', () => {
    expect(() => createShellExecutors({ ...DEFAULT_PLUGIN_OPTIONS, shellEnv: ['LD_PRELOAD'] })).toThrow(
      'WORKER_SHELL_ENV: LD_PRELOAD can never be passed to a program (it changes how programs load)',
    );
    expect(() => createShellExecutors({ ...DEFAULT_PLUGIN_OPTIONS, shellPrograms: ['./bin/x'] })).toThrow(
      /^WORKER_SHELL_PROGRAMS: "\.\/bin\/x" must be a program name/,
    );
  });

  it('echo returns its params', async () => {
    expect(await echoExecutor.run(ctx({ a: [1] }))).toEqual({ a: [1] });
  });

  it('sleep resolves after ms', async () => {
    expect(await sleepExecutor.run(ctx({ ms: 5 }))).toEqual({ slept_ms: 5 });
  });

  it('sleep with steps reports progress and a log line at each step, ending at 100', async () => {
    const c = ctx({ ms: 6, steps: 3 });
    expect(await sleepExecutor.run(c)).toEqual({ slept_ms: 6 });
    expect(c.progressReports).toEqual([
      { pct: 33, message: 'step 1 of 3' },
      { pct: 67, message: 'step 2 of 3' },
      { pct: 100, message: 'step 3 of 3' },
    ]);
    expect(c.logs).toEqual(['slept 2 of 6 ms', 'slept 4 of 6 ms', 'slept 6 of 6 ms']);
  });

  it('sleep rejects as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const run = sleepExecutor.run(ctx({ ms: 60_000 }, ac.signal));
    ac.abort(new Error('canceled by test'));
    const err = await failure(Promise.resolve(run));
    expect(err.message).toBe('sleep of 60000 ms aborted: Error: canceled by test');
  });
});
