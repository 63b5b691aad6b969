// Keeps README.md in step with the code: error codes, routes (the OpenAPI), env variables, the test command.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@taskwire/contracts';
// Not exported from an entry point (or not as a module we can load here), so imported by path.
import { CONFIG_SCHEMA } from '../services/task-manager/src/config.js';
import { openApiDocument } from '../services/task-manager/src/http/openapi.js';
import { createManagerMetrics } from '../services/task-manager/src/metrics/index.js';
import { createWorkerMetrics } from '../services/task-worker/src/metrics.js';

const root = new URL('../', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');
const readme = read('README.md');

/** The text of one `## heading` section of the README, up to the next `## `. */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

const missing = (names: Iterable<string>, text: string): string[] =>
  [...names].filter((n) => !text.includes(`\`${n}\``));

/**
 * The worker's env schema is a module-private `const schema` (loading the module would also need
 * the worker's dependencies), so its variable names are read from the source: the upper-case keys
 * between `const schema = {` and `} as const;`.
 */
function workerVariables(): string[] {
  const src = read('services/task-worker/src/config.ts');
  const start = src.indexOf('const schema = {');
  const end = src.indexOf('} as const;', start);
  if (start < 0 || end < 0)
    throw new Error('services/task-worker/src/config.ts: `const schema = {…} as const` not found');
  return [...src.slice(start, end).matchAll(/^\s{4}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

describe('README.md', () => {
  const api = section('HTTP API');

  it('names every error code in its HTTP API section', () => {
    expect(missing(ERROR_CODES, api)).toEqual([]);
  });

  it('lists every documented route, with its methods, in the HTTP API table, and no other', () => {
    // Table cells hold code spans such as `GET /tasks/{id}` or `GET/PUT/DELETE /templates/{id}`.
    const table = api.split('\n').filter((l) => l.startsWith('| `'));
    const inReadme = new Set(
      table.flatMap((row) =>
        [...row.split('|')[1]!.matchAll(/`([A-Z/]+) (\/[^`\s]*)`/g)].flatMap((m) =>
          m[1]!.split('/').map((method) => `${method} ${m[2]}`),
        ),
      ),
    );
    const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => k !== 'parameters')
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.filter((r) => !inReadme.has(r))).toEqual([]);
    expect([...inReadme].filter((r) => !documented.includes(r))).toEqual([]);
  });

  it('documents every environment variable of the manager and the worker under Configuration', () => {
    const config = section('Configuration');
    const worker = workerVariables();
    // A guard on the parser: a reshaped worker config.ts must not make this test pass vacuously.
    expect(worker).toEqual(
      expect.arrayContaining(['KAFKA_BROKERS', 'GROUP_ID', 'WORKER_CONCURRENCY', 'LOG_LEVEL']),
    );
    expect(missing(Object.keys(CONFIG_SCHEMA.properties), config)).toEqual([]);
    expect(missing(worker, config)).toEqual([]);
  });

  it('lists every metric both services register, with its type and labels, in its Metrics tables, and no other', () => {
    // Rows such as | `taskwire_tasks_created_total` | counter | `template`, `queue` | meaning |
    const rows = section('Metrics')
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split('|').map((c) => c.trim()));
    const inReadme = rows.map(([, name, type, labels]) => ({
      name: name!.replace(/`/g, ''),
      type: type!,
      labels: [...labels!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
    }));
    const silent = { info() {}, warn() {}, child: () => silent } as unknown as Parameters<
      typeof createManagerMetrics
    >[0]['logger'];
    const registered = [
      ...createManagerMetrics({ logger: silent }).describe(),
      // The default process_* and nodejs_* metrics are prom-client's, named once in the prose.
      ...createWorkerMetrics({ executors: [], running: () => 0, processMetrics: false }).describe(),
    ];
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(registered.length).toBeGreaterThan(10);
    expect(inReadme.sort(byName)).toEqual(registered.sort(byName));
    expect(section('Metrics')).toMatch(/`process_\*` and `nodejs_\*`/);
  });

  it('gives the test command that CI runs', () => {
    const block = /```sh\n([\s\S]*?)```/.exec(section('The two commands'))?.[1] ?? '';
    const command = /^(npm \S+)\s+#.*\btests?\b/m.exec(block)?.[1];
    expect(command).toBe('npm test');
    const ciCommands = read('.ci/run')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ciCommands).toContain(command);
    const pkg = JSON.parse(read('package.json')) as { scripts?: Record<string, string> };
    expect(pkg.scripts?.test).toEqual(expect.any(String));
  });
});

describe('README.md and docs/', () => {
  const docs = readdirSync(new URL('docs/', root))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);

  it('link only to files inside the repository, and every linked file exists', () => {
    const bad: string[] = [];
    for (const file of ['README.md', ...docs]) {
      for (const m of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z]+:/.test(target)) continue; // anchors, http(s) and mailto links
        // A leading '/' is the repository root, as GitHub renders it.
        const resolved = target.startsWith('/')
          ? new URL(`.${target}`, root)
          : new URL(target, new URL(file, root));
        if (!resolved.href.startsWith(root.href) || !existsSync(resolved)) bad.push(`${file}: ${m[1]}`);
      }
    }
    expect(docs.length).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  });
});
