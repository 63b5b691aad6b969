// Result application when the template's stored result_schema is refused by today's SCHEMA_MAX_*.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaCompiler } from '@taskwire/json-schema';
import type { ResultMessage } from '@taskwire/contracts';
import { makeTemplate } from '../store/contract/fixtures.js';
import type { Store, TaskRecord, TemplateRecord } from '../store/types.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { resultFor, seedTask } from '../testing/seed.js';
import type { DomainDeps } from './deps.js';
import { newId } from './ids.js';
import { applyResults } from './results.js';

const T0 = new Date('2024-03-01T12:00:00Z');
let store: Store;
let deps: DomainDeps;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({
    store,
    deps,
    close: cleanup,
  } = await openSqliteDeps({
    clock: { now: () => new Date(T0.getTime() + 5_000) },
    // As if SCHEMA_MAX_NODES had been lowered to 10 after the template was stored.
    schemas: new SchemaCompiler({ limits: { maxNodes: 10 } }),
  }));
});
afterEach(() => cleanup());

const seed = (template: TemplateRecord): Promise<TaskRecord> =>
  seedTask(store, template, T0, { status: 'RUNNING', maxAttempts: 1, workerId: 'w1' });

const succeeded = (task: TaskRecord): ResultMessage =>
  resultFor(task, T0.getTime() + 20, { result: { ok: true } });

describe('applyResults with a refused result_schema', () => {
  it('fails that task with invalid_schema and still applies the rest of the batch', async () => {
    const refused = await seed(
      makeTemplate({
        id: newId(T0.getTime()),
        name: 'big-result-schema',
        maxAttempts: 1,
        resultSchema: { enum: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
      }),
    );
    const plain = await seed(
      makeTemplate({ id: newId(T0.getTime() + 1), name: 'no-schema', maxAttempts: 1 }),
    );
    const outcome = await applyResults(deps, [succeeded(refused), succeeded(plain)]);
    expect(outcome.applied).toBe(2);
    const failed = await store.getTask(refused.id);
    expect(failed?.status).toBe('FAILED');
    expect(failed?.error).toMatchObject({ code: 'invalid_schema', retryable: false });
    expect(failed?.error?.message).toContain('over the limit of 10 (SCHEMA_MAX_NODES)');
    expect((await store.getTask(plain.id))?.status).toBe('COMPLETED');
  });
});
