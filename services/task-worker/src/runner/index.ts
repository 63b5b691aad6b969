// Entry of the task runner.
export { runTask } from './run-task.js';
export type { RunnerDeps, RunOutcome } from './run-task.js';
export { RunningTasks, TaskAbort } from './running-tasks.js';
export { DEFAULT_RESULT_LIMITS, encodeResult, failedInstead, RESULT_MESSAGE_LIMIT } from './encode.js';
export type { ResultLimits } from './encode.js';
export { SchemaRefs, SchemaUnavailable } from './schema-refs.js';
