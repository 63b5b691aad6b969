// Plugin factories: how a plugin receives the worker's sandbox policy (its allowlists) at load time.
import type { Executor } from './executor.js';

/**
 * The worker's sandbox policy, from its configuration, handed to a plugin's `createExecutors`.
 * The built-in `http` and `shell` executors enforce it; other plugins may honour it too.
 */
export interface PluginOptions {
  /**
   * `HTTP_EXECUTOR_ALLOW_HOSTS`: hostnames, IP addresses and CIDRs that outbound HTTP may reach
   * although they are loopback, private, link-local… (public addresses need no entry).
   */
  readonly httpAllowHosts: readonly string[];
  /** `WORKER_SHELL_PROGRAMS`: program names (looked up on a fixed PATH) or absolute paths. */
  readonly shellPrograms: readonly string[];
  /** `WORKER_SHELL_ENV`: environment keys a task may pass to a program. */
  readonly shellEnv: readonly string[];
}

/** Policy of a worker that allows nothing extra: what `PluginOptions` defaults to. */
export const DEFAULT_PLUGIN_OPTIONS: PluginOptions = Object.freeze({
  httpAllowHosts: Object.freeze([]),
  shellPrograms: Object.freeze([]),
  shellEnv: Object.freeze([]),
});

/**
 * A plugin module's optional named export `createExecutors`: when present, the worker calls it once
 * at start-up with its policy and serves what it returns instead of the default export. Throwing
 * stops the worker with the plugin's name and the message (use that for a bad policy value).
 *
 * @example
 * ```ts
 * import { defineExecutor } from '@taskwire/executor-sdk';
 * import type { CreateExecutors } from '@taskwire/executor-sdk';
 *
 * const make = (allow: readonly string[]) =>
 *   defineExecutor({ name: 'ping', description: 'Pings a host', run: () => ({ allow }) });
 *
 * export const createExecutors: CreateExecutors = (options) => make(options.httpAllowHosts);
 * export default make([]); // what importers without a policy get
 * ```
 */
export type CreateExecutors = (options: PluginOptions) => Executor | readonly Executor[];
