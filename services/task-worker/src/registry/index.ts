// Entry of the executor registry.
export { buildRegistry, checkPlugin, importPlugin, loadExecutors, RegistryError } from './registry.js';
export type { ExecutorRegistry, LoadedExecutor, PluginModule, RegistryOptions } from './registry.js';
