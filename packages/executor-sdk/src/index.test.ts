import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLUGIN_OPTIONS,
  defineExecutor,
  ExecutorError,
  isExecutor,
  rejectionOf,
  testContext,
} from './index.js';

describe('executor-sdk', () => {
  it('defineExecutor returns a frozen copy of the definition', () => {
    const def = { name: 'x', description: 'd', run: () => 1 };
    const executor = defineExecutor(def);
    expect(executor).toEqual(def);
    expect(Object.isFrozen(executor)).toBe(true);
    expect(isExecutor(executor)).toBe(true);
  });

  it('defineExecutor refuses a definition without a run function', () => {
    expect(() => defineExecutor({ name: 'x', description: 'd' } as never)).toThrow(
      'executor x: run must be a function',
    );
  });

  it('isExecutor rejects values without the executor shape', () => {
    expect(isExecutor(null)).toBe(false);
    expect(isExecutor({ name: 'x', description: 'd' })).toBe(false);
    expect(isExecutor('echo')).toBe(false);
  });

  it('ExecutorError says whether a failure is retryable and keeps its data', () => {
    const retry = ExecutorError.retryable('upstream 503', { status: 503 });
    const final = ExecutorError.nonRetryable('bad input');
    expect(retry).toBeInstanceOf(Error);
    expect(retry).toMatchObject({
      name: 'ExecutorError',
      message: 'upstream 503',
      retryable: true,
      data: { status: 503 },
    });
    expect(final).toMatchObject({ retryable: false, data: undefined });
  });

  it('ExecutorError.is recognises errors from another copy of the SDK by shape', () => {
    const foreign = Object.assign(new Error('x'), { name: 'ExecutorError', retryable: false });
    expect(ExecutorError.is(foreign)).toBe(true);
    expect(ExecutorError.is(new Error('x'))).toBe(false);
    expect(ExecutorError.is(ExecutorError.retryable('y'))).toBe(true);
  });

  it('DEFAULT_PLUGIN_OPTIONS allows nothing extra and cannot be widened by a plugin', () => {
    expect(DEFAULT_PLUGIN_OPTIONS).toEqual({ httpAllowHosts: [], shellPrograms: [], shellEnv: [] });
    expect(() => (DEFAULT_PLUGIN_OPTIONS.httpAllowHosts as string[]).push('0.0.0.0/0')).toThrow(TypeError);
  });
});

describe('testContext', () => {
  it('records what an executor logs and reports, so a plugin test can assert on it', async () => {
    const executor = defineExecutor<{ n: number }, number>({
      name: 'count',
      description: 'counts',
      run: (ctx) => {
        ctx.log(`counting to ${ctx.params.n}`);
        ctx.progress(50, 'half way');
        return ctx.params.n;
      },
    });
    const ctx = testContext({ n: 3 });
    expect(await executor.run(ctx)).toBe(3);
    expect(ctx.logs).toEqual(['counting to 3']);
    expect(ctx.progressReports).toEqual([{ pct: 50, message: 'half way' }]);
    expect(await rejectionOf(Promise.reject(new Error('boom')))).toHaveProperty('message', 'boom');
    await expect(rejectionOf(Promise.resolve(1))).rejects.toThrow('expected a failure');
  });
});
