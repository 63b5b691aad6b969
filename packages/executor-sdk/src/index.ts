// Public entry of @taskwire/executor-sdk: what a plugin author imports to write an executor.
export { defineExecutor, isExecutor } from './executor.js';
export type {
  Executor,
  ExecutorContext,
  ExecutorDefinition,
  ExecutorLogger,
  JsonSchema,
} from './executor.js';
export { ExecutorError } from './errors.js';
export type { ExecutorErrorOptions } from './errors.js';
export { DEFAULT_PLUGIN_OPTIONS } from './plugin.js';
export type { CreateExecutors, PluginOptions } from './plugin.js';
export { rejectionOf, testContext } from './testing.js';
export type { TestContext } from './testing.js';
