// Executor registry: loads the EXECUTORS plugins with the worker's sandbox policy, checks every executor, gates shell.
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_PLUGIN_OPTIONS } from '@taskwire/executor-sdk';
import type { Executor, ExecutorLogger, PluginOptions } from '@taskwire/executor-sdk';
import { NAME_PATTERN } from '@taskwire/contracts';
import { SchemaCompiler } from '@taskwire/json-schema';
import type { ValidateFunction } from '@taskwire/json-schema';

const NAME = new RegExp(NAME_PATTERN);

/**
 * Executors' own schemas are code the operator installed, not user input: the same drafts and RE2
 * patterns as template schemas (one dialect everywhere), without SCHEMA_MAX_* (a plugin may ship a
 * large generated schema).
 */
const pluginSchemas = new SchemaCompiler({
  limits: {
    maxBytes: Number.MAX_SAFE_INTEGER,
    maxDepth: Number.MAX_SAFE_INTEGER,
    maxNodes: Number.MAX_SAFE_INTEGER,
  },
});

/** An executor with its compiled schemas and the plugin it came from. */
export interface LoadedExecutor {
  executor: Executor;
  plugin: string;
  validateParams?: ValidateFunction;
  validateResult?: ValidateFunction;
}

export interface ExecutorRegistry {
  get(name: string): LoadedExecutor | undefined;
  /** Sorted executor names, for heartbeats and error messages. */
  readonly names: readonly string[];
}

/** The registry refuses to start: the message names the plugin and what is wrong. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
}

export interface PluginModule {
  plugin: string;
  /** The module's default export. */
  value: unknown;
  /** The module's named export `createExecutors`, when it has one: called with the worker's policy. */
  createExecutors?: unknown;
}

/** A path (./x.js, ../x, /abs/x.mjs) rather than a package name. */
export function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('file:');
}

/**
 * Imports one plugin: paths resolve against `cwd`; package names first from the worker's own
 * dependencies (the built-ins), then from `cwd`'s node_modules (plugins installed beside the worker).
 */
export async function importPlugin(specifier: string, cwd: string): Promise<PluginModule> {
  let mod: { default?: unknown; createExecutors?: unknown };
  try {
    if (specifier.startsWith('file:')) mod = (await import(specifier)) as typeof mod;
    else if (isPathSpecifier(specifier))
      mod = (await import(pathToFileURL(resolve(cwd, specifier)).href)) as typeof mod;
    else {
      try {
        mod = (await import(specifier)) as typeof mod;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
        const path = createRequire(join(cwd, 'package.json')).resolve(specifier);
        mod = (await import(pathToFileURL(path).href)) as typeof mod;
      }
    }
  } catch (err) {
    throw new RegistryError(`plugin ${specifier} could not be loaded: ${(err as Error).message}`);
  }
  if (mod.default === undefined && mod.createExecutors === undefined) {
    throw new RegistryError(
      `plugin ${specifier} has no default export (expected an executor or an array of them)`,
    );
  }
  const loaded: PluginModule = { plugin: specifier, value: mod.default };
  if (mod.createExecutors !== undefined) loaded.createExecutors = mod.createExecutors;
  return loaded;
}

function compile(plugin: string, name: string, which: string, schema: unknown): ValidateFunction | undefined {
  if (schema === undefined) return undefined;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new RegistryError(`plugin ${plugin}: executor ${name}: ${which} must be a JSON Schema object`);
  }
  try {
    return pluginSchemas.compile(schema as Record<string, unknown>, which);
  } catch (err) {
    throw new RegistryError(
      `plugin ${plugin}: executor ${name}: ${which} does not compile: ${(err as Error).message}`,
    );
  }
}

/** Checks one plugin's default export and returns its executors (with compiled schemas). */
export function checkPlugin({ plugin, value }: PluginModule): LoadedExecutor[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new RegistryError(`plugin ${plugin}: default export is an empty array`);
  return items.map((item: unknown, i) => {
    const where = Array.isArray(value)
      ? `plugin ${plugin}: default export [${i}]`
      : `plugin ${plugin}: default export`;
    if (typeof item !== 'object' || item === null) {
      throw new RegistryError(`${where} is ${item === null ? 'null' : typeof item}, not an executor object`);
    }
    const e = item as Record<string, unknown>;
    if (typeof e.name !== 'string' || !NAME.test(e.name)) {
      throw new RegistryError(
        `${where}: name ${JSON.stringify(e.name)} must be a string matching ${NAME_PATTERN}`,
      );
    }
    if (typeof e.run !== 'function')
      throw new RegistryError(`${where}: executor ${e.name}: run must be a function`);
    if (e.description !== undefined && typeof e.description !== 'string') {
      throw new RegistryError(`${where}: executor ${e.name}: description must be a string`);
    }
    const executor = item as Executor;
    const loaded: LoadedExecutor = { executor, plugin };
    const validateParams = compile(plugin, e.name, 'paramsSchema', e.paramsSchema);
    const validateResult = compile(plugin, e.name, 'resultSchema', e.resultSchema);
    if (validateParams) loaded.validateParams = validateParams;
    if (validateResult) loaded.validateResult = validateResult;
    return loaded;
  });
}

/** Executors that run programs on the worker's host: only with WORKER_ALLOW_SHELL=1. */
const GATED = new Set(['shell']);

export interface RegistryOptions {
  allowShell: boolean;
  /** The sandbox policy handed to plugins' `createExecutors`; default: nothing extra allowed. */
  pluginOptions?: PluginOptions;
  /** Says at start-up what the policy leaves out (e.g. shell loaded with no program allowed). */
  logger?: Pick<ExecutorLogger, 'warn'>;
}

/**
 * A plugin with a `createExecutors` export is built with the worker's policy (its default export,
 * if any, is what importers without a policy get); any other plugin is its default export.
 */
function instantiate(mod: PluginModule, options: PluginOptions): PluginModule {
  if (mod.createExecutors === undefined) return mod;
  if (typeof mod.createExecutors !== 'function') {
    throw new RegistryError(`plugin ${mod.plugin}: createExecutors must be a function`);
  }
  try {
    return { plugin: mod.plugin, value: (mod.createExecutors as (o: PluginOptions) => unknown)(options) };
  } catch (err) {
    throw new RegistryError(`plugin ${mod.plugin}: createExecutors failed: ${(err as Error).message}`);
  }
}

/** Builds the registry from checked plugins: rejects duplicates and gated executors. */
export function buildRegistry(plugins: PluginModule[], options: RegistryOptions): ExecutorRegistry {
  const pluginOptions = options.pluginOptions ?? DEFAULT_PLUGIN_OPTIONS;
  const byName = new Map<string, LoadedExecutor>();
  for (const mod of plugins) {
    for (const loaded of checkPlugin(instantiate(mod, pluginOptions))) {
      const { name } = loaded.executor;
      if (GATED.has(name) && !options.allowShell) {
        throw new RegistryError(
          `plugin ${mod.plugin}: executor ${name} runs programs on the worker host and is refused unless WORKER_ALLOW_SHELL=1`,
        );
      }
      const other = byName.get(name);
      if (other) {
        throw new RegistryError(
          `executor name ${name} is defined twice: by plugin ${other.plugin} and by plugin ${mod.plugin}`,
        );
      }
      byName.set(name, loaded);
    }
  }
  if (byName.size === 0) throw new RegistryError('no executors loaded (EXECUTORS is empty)');
  if (byName.has('shell') && pluginOptions.shellPrograms.length === 0) {
    options.logger?.warn(
      'the shell executor is loaded but WORKER_SHELL_PROGRAMS is empty: every shell task will be refused',
    );
  }
  const names = Object.freeze([...byName.keys()].sort());
  return { get: (name) => byName.get(name), names };
}

/** Loads every plugin named in EXECUTORS, in order; throws RegistryError at the first problem. */
export async function loadExecutors(
  options: RegistryOptions & { specifiers: readonly string[]; cwd: string },
): Promise<ExecutorRegistry> {
  const modules: PluginModule[] = [];
  for (const specifier of options.specifiers) modules.push(await importPlugin(specifier, options.cwd));
  return buildRegistry(modules, options);
}
