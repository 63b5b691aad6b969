// The sleep executor: waits params.ms (reporting progress in `steps` steps when asked) and stops at
// once when the task's signal aborts.
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';

export interface SleepParams {
  ms: number;
  /** Report progress (and a log line) this many times, evenly spaced; absent: no reports. */
  steps?: number;
}

export const sleepExecutor = defineExecutor<SleepParams, { slept_ms: number }>({
  name: 'sleep',
  description:
    'Waits params.ms milliseconds (reporting progress params.steps times), then returns { slept_ms }',
  paramsSchema: {
    type: 'object',
    required: ['ms'],
    properties: {
      ms: { type: 'integer', minimum: 0, maximum: 86_400_000 },
      steps: { type: 'integer', minimum: 1, maximum: 100 },
    },
  },
  run: ({ params, signal, progress, log }) =>
    new Promise((resolve, reject) => {
      const aborted = (): ExecutorError =>
        ExecutorError.retryable(`sleep of ${params.ms} ms aborted: ${String(signal.reason ?? 'aborted')}`);
      if (signal.aborted) return reject(aborted());
      const steps = params.steps ?? 1;
      let step = 0;
      let timer: NodeJS.Timeout;
      const next = (): void => {
        timer = setTimeout(() => {
          step++;
          if (params.steps !== undefined) {
            progress(Math.round((step / steps) * 100), `step ${step} of ${steps}`);
            log(`slept ${Math.round((params.ms * step) / steps)} of ${params.ms} ms`);
          }
          if (step < steps) return next();
          signal.removeEventListener('abort', onAbort);
          resolve({ slept_ms: params.ms });
        }, params.ms / steps);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(aborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      next();
    }),
});
