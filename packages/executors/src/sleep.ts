// The sleep executor: waits params.ms and stops at once when the task's signal aborts.
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';

export interface SleepParams {
  ms: number;
}

export const sleepExecutor = defineExecutor<SleepParams, { slept_ms: number }>({
  name: 'sleep',
  description: 'Waits params.ms milliseconds, then returns { slept_ms }',
  paramsSchema: {
    type: 'object',
    required: ['ms'],
    properties: { ms: { type: 'integer', minimum: 0, maximum: 86_400_000 } },
  },
  run: ({ params, signal }) =>
    new Promise((resolve, reject) => {
      const aborted = (): ExecutorError =>
        ExecutorError.retryable(`sleep of ${params.ms} ms aborted: ${String(signal.reason ?? 'aborted')}`);
      if (signal.aborted) return reject(aborted());
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve({ slept_ms: params.ms });
      }, params.ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(aborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }),
});
