// Public entry of @taskwire/task-manager: the app, the manager's lifecycle, config and types.
export { createApp, createSignalBus, startManager } from './server.js';
export type { AppDeps, Component, RunningManager } from './server.js';
export { ConfigError, CONFIG_SCHEMA, loadConfig } from './config.js';
export type { Config } from './config.js';
export type { DomainDeps, Signals } from './domain/deps.js';
