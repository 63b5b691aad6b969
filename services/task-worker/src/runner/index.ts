// Entry of the task runner.
export { runTask } from './run-task.js';
export type { RunnerDeps, RunOutcome } from './run-task.js';
export { RunningTasks, TaskAbort } from './running-tasks.js';
export { encodeResult, RESULT_MESSAGE_LIMIT } from './encode.js';
