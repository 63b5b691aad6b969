// Public entry of @taskwire/task-worker: create or start a worker in-process (tests, embedded stack).
export { createWorker, startWorker } from './worker.js';
export type { Worker, WorkerDeps } from './worker.js';
export { loadConfig, ConfigError, BUILTIN_PLUGIN, SHELL_PLUGIN } from './config.js';
export type { Config, LogLevel } from './config.js';
export { loadExecutors, buildRegistry, RegistryError } from './registry/index.js';
export type { ExecutorRegistry } from './registry/index.js';
export { OffsetTracker } from './kafka/offset-tracker.js';
