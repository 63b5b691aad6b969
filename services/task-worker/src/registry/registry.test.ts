import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLUGIN_OPTIONS, testContext } from '@taskwire/executor-sdk';
import { builtinExecutors } from '@taskwire/executors';
import { buildRegistry, loadExecutors, RegistryError } from './index.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'taskwire-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plugin(file: string, source: string): string {
  writeFileSync(join(dir, file), source);
  return join(dir, file);
}

const run = () => null;

async function loadError(specifiers: string[], allowShell = false): Promise<string> {
  const err = await loadExecutors({ specifiers, allowShell, cwd: repoRoot }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RegistryError);
  return (err as Error).message;
}

describe('executor registry', () => {
  it('loads the built-ins by package name and a plugin by a path relative to the working directory', async () => {
    const registry = await loadExecutors({
      specifiers: ['@taskwire/executors', './examples/executor-plugin/index.js'],
      allowShell: false,
      cwd: repoRoot,
    });
    expect(registry.names).toEqual(['echo', 'flaky', 'http', 'reverse', 'sleep']);
    expect(registry.get('reverse')?.plugin).toBe('./examples/executor-plugin/index.js');
    expect(registry.get('reverse')?.validateParams?.({ text: 'x' })).toBe(true);
    expect(registry.get('nope')).toBeUndefined();
  });

  it('loads a single executor as a default export', async () => {
    const path = plugin('single.mjs', `export default { name: 'one', description: 'd', run: () => 1 };`);
    const registry = await loadExecutors({ specifiers: [path], allowShell: false, cwd: dir });
    expect(registry.names).toEqual(['one']);
  });

  it('refuses a plugin that cannot be found, naming it', async () => {
    expect(await loadError(['./missing/plugin.js'])).toMatch(
      /^plugin \.\/missing\/plugin\.js could not be loaded: /,
    );
    expect(await loadError(['no-such-taskwire-plugin'])).toMatch(
      /^plugin no-such-taskwire-plugin could not be loaded/,
    );
  });

  it('refuses a plugin without a default export', async () => {
    const path = plugin('named.mjs', `export const echo = { name: 'x', run() {} };`);
    expect(await loadError([path])).toBe(
      `plugin ${path} has no default export (expected an executor or an array of them)`,
    );
  });

  it('refuses a default export that is not an executor', async () => {
    const path = plugin('string.mjs', `export default 'echo';`);
    expect(await loadError([path])).toBe(`plugin ${path}: default export is string, not an executor object`);
  });

  it('refuses a bad executor name, naming the plugin, the index and the pattern', () => {
    expect(() =>
      buildRegistry(
        [
          {
            plugin: 'p',
            value: [
              { name: 'ok', run },
              { name: 'Bad Name', run },
            ],
          },
        ],
        { allowShell: false },
      ),
    ).toThrow(
      'plugin p: default export [1]: name "Bad Name" must be a string matching ^[a-z0-9][a-z0-9_.-]{0,63}$',
    );
  });

  it('refuses an executor whose run is not a function', () => {
    expect(() =>
      buildRegistry([{ plugin: 'p', value: { name: 'x', run: 'go' } }], { allowShell: false }),
    ).toThrow('plugin p: default export: executor x: run must be a function');
  });

  it('refuses a paramsSchema that does not compile', () => {
    const value = { name: 'x', run, paramsSchema: { type: 'nonsense' } };
    expect(() => buildRegistry([{ plugin: 'p', value }], { allowShell: false })).toThrow(
      /^plugin p: executor x: paramsSchema does not compile: /,
    );
    expect(() =>
      buildRegistry([{ plugin: 'p', value: { name: 'y', run, resultSchema: 'x' } }], { allowShell: false }),
    ).toThrow('plugin p: executor y: resultSchema must be a JSON Schema object');
  });

  it('refuses two executors with the same name, naming both plugins', () => {
    expect(() =>
      buildRegistry(
        [
          { plugin: '@taskwire/executors', value: builtinExecutors },
          { plugin: './mine.js', value: { name: 'echo', run } },
        ],
        { allowShell: false },
      ),
    ).toThrow('executor name echo is defined twice: by plugin @taskwire/executors and by plugin ./mine.js');
  });

  it('refuses the shell executor unless WORKER_ALLOW_SHELL=1', async () => {
    expect(await loadError(['@taskwire/executors/shell'])).toBe(
      'plugin @taskwire/executors/shell: executor shell runs programs on the worker host and is refused unless WORKER_ALLOW_SHELL=1',
    );
    const registry = await loadExecutors({
      specifiers: ['@taskwire/executors/shell'],
      allowShell: true,
      cwd: repoRoot,
      pluginOptions: { ...DEFAULT_PLUGIN_OPTIONS, shellPrograms: ['env'] },
    });
    expect(registry.get('shell')?.executor.name).toBe('shell');
  });
});

describe('executor registry: the sandbox policy', () => {
  const ctx = testContext;

  it('builds a plugin with a createExecutors export from the worker policy', async () => {
    const path = plugin(
      'factory.mjs',
      `export const createExecutors = (o) => ({ name: 'policy', description: 'd', run: () => o });
       export default { name: 'policy', description: 'd', run: () => null };`,
    );
    const pluginOptions = { httpAllowHosts: ['10.0.0.0/8'], shellPrograms: [], shellEnv: ['A'] };
    const registry = await loadExecutors({ specifiers: [path], allowShell: false, cwd: dir, pluginOptions });
    expect(await registry.get('policy')?.executor.run(ctx(null))).toEqual(pluginOptions);
  });

  it('applies HTTP_EXECUTOR_ALLOW_HOSTS to the built-in http executor', async () => {
    const load = (httpAllowHosts: string[]) =>
      loadExecutors({
        specifiers: ['@taskwire/executors'],
        allowShell: false,
        cwd: repoRoot,
        pluginOptions: { ...DEFAULT_PLUGIN_OPTIONS, httpAllowHosts },
      });
    // Port 9: nothing listens; what matters is whether the executor tries to connect at all.
    const params = { method: 'GET', url: 'http://127.0.0.1:9/' };
    const strict = (await load([])).get('http')!.executor;
    expect(await Promise.resolve(strict.run(ctx(params))).catch((e: Error) => e.message)).toBe(
      'http GET http://127.0.0.1:9/: 127.0.0.1 is a loopback address',
    );
    const open = (await load(['127.0.0.1'])).get('http')!.executor;
    expect(await Promise.resolve(open.run(ctx(params))).catch((e: Error) => e.message)).toMatch(
      /^http GET http:\/\/127\.0\.0\.1:9\/ failed: /,
    );
  });

  it('refuses to start on a bad allowlist entry, naming the plugin and the entry', async () => {
    const err = await loadExecutors({
      specifiers: ['@taskwire/executors'],
      allowShell: false,
      cwd: repoRoot,
      pluginOptions: { ...DEFAULT_PLUGIN_OPTIONS, httpAllowHosts: ['10.0.0.0/33'] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toBe(
      'plugin @taskwire/executors: createExecutors failed: HTTP_EXECUTOR_ALLOW_HOSTS: "10.0.0.0/33" is not a valid CIDR',
    );
  });

  it('warns at start-up when shell is loaded but WORKER_SHELL_PROGRAMS is empty', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (msg: unknown) => void warnings.push(msg) };
    await loadExecutors({
      specifiers: ['@taskwire/executors/shell'],
      allowShell: true,
      cwd: repoRoot,
      logger,
    });
    expect(warnings).toEqual([
      'the shell executor is loaded but WORKER_SHELL_PROGRAMS is empty: every shell task will be refused',
    ]);
    warnings.length = 0;
    await loadExecutors({
      specifiers: ['@taskwire/executors/shell'],
      allowShell: true,
      cwd: repoRoot,
      logger,
      pluginOptions: { ...DEFAULT_PLUGIN_OPTIONS, shellPrograms: ['env'] },
    });
    expect(warnings).toEqual([]);
  });
});
