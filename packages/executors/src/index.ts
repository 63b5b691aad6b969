// Public entry of @taskwire/executors: the built-in executors; shell is exported apart (opt-in).
import type { Executor } from '@taskwire/executor-sdk';
import { echoExecutor } from './echo.js';
import { httpExecutor } from './http.js';
import { sleepExecutor } from './sleep.js';

export { echoExecutor } from './echo.js';
export { sleepExecutor } from './sleep.js';
export type { SleepParams } from './sleep.js';
export { httpExecutor } from './http.js';
export type { HttpParams, HttpResult } from './http.js';
export { shellExecutor, SHELL_OUTPUT_LIMIT } from './shell.js';
export type { ShellParams, ShellResult } from './shell.js';

/** The executors every worker serves by default. `shellExecutor` is not here: it is opt-in. */
export const builtinExecutors: readonly Executor[] = [
  echoExecutor,
  sleepExecutor,
  httpExecutor,
] as Executor[];

/** The plugin default export, so `EXECUTORS=@taskwire/executors` loads the built-ins. */
export default builtinExecutors;
