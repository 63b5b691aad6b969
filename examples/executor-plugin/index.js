// Example Taskwire executor plugin: plain ESM with no dependencies. Its default export is an array
// of executors with the shape defineExecutor() from @taskwire/executor-sdk produces.
// Load it with EXECUTORS=@taskwire/executors,./examples/executor-plugin/index.js

/**
 * An error the worker treats like the SDK's ExecutorError: `name` 'ExecutorError' and a boolean
 * `retryable`. A real plugin would import ExecutorError from @taskwire/executor-sdk instead.
 */
class ExecutorError extends Error {
  constructor(message, retryable, data) {
    super(message);
    this.name = 'ExecutorError';
    this.retryable = retryable;
    this.data = data;
  }
}

/** reverse: { text } → { reversed } */
const reverse = {
  name: 'reverse',
  description: 'Reverses params.text',
  paramsSchema: {
    type: 'object',
    required: ['text'],
    properties: { text: { type: 'string' } },
  },
  run({ params }) {
    return { reversed: [...params.text].reverse().join('') };
  },
};

/** flaky: fails (retryable) until attempt >= params.succeed_on_attempt, then returns { attempt }. */
const flaky = {
  name: 'flaky',
  description: 'Fails with a retryable error until attempt >= params.succeed_on_attempt',
  paramsSchema: {
    type: 'object',
    required: ['succeed_on_attempt'],
    properties: { succeed_on_attempt: { type: 'integer', minimum: 1 } },
  },
  run({ params, attempt, log }) {
    if (attempt < params.succeed_on_attempt) {
      log(`attempt ${attempt} fails on purpose`);
      throw new ExecutorError(`flaky: attempt ${attempt} < ${params.succeed_on_attempt}`, true, { attempt });
    }
    return { attempt };
  },
};

export default [reverse, flaky];
