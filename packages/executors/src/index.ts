// Public entry of @taskwire/executors: the built-in executors; shell is exported apart (opt-in).
import type { CreateExecutors, Executor } from '@taskwire/executor-sdk';
import { echoExecutor } from './echo.js';
import { createHttpExecutor, httpExecutor } from './http.js';
import { sleepExecutor } from './sleep.js';

export { echoExecutor } from './echo.js';
export { sleepExecutor } from './sleep.js';
export type { SleepParams } from './sleep.js';
export {
  createHttpExecutor,
  httpExecutor,
  HTTP_DEFAULT_BODY_BYTES,
  HTTP_MAX_BODY_BYTES,
  HTTP_MAX_REDIRECTS,
  HTTP_MAX_TIMEOUT_MS,
} from './http.js';
export type { HttpExecutorOptions, HttpParams, HttpResult } from './http.js';
export { AddressPolicy } from './address-policy.js';
export type { Refusal } from './address-policy.js';
export {
  createShellExecutor,
  shellExecutor,
  SHELL_MAX_TIMEOUT_MS,
  SHELL_OUTPUT_LIMIT,
  SHELL_PATH,
} from './shell.js';
export type { ShellExecutorOptions, ShellParams, ShellResult } from './shell.js';

/**
 * The executors every worker serves by default, with the strictest policy (http reaches public
 * addresses only). `shellExecutor` is not here: it is opt-in.
 */
export const builtinExecutors: readonly Executor[] = [
  echoExecutor,
  sleepExecutor,
  httpExecutor,
] as Executor[];

/** What the worker loads: the built-ins with its HTTP_EXECUTOR_ALLOW_HOSTS applied to http. */
export const createExecutors: CreateExecutors = (options) =>
  [echoExecutor, sleepExecutor, createHttpExecutor({ allowHosts: options.httpAllowHosts })] as Executor[];

/** The plugin default export, so `EXECUTORS=@taskwire/executors` loads the built-ins. */
export default builtinExecutors;
