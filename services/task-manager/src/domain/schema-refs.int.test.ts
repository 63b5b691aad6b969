// Dispatches name their param_schema by hash; the schema rows that publish each hash, on both dialects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { decodeDispatch, decodeSchemaMessage } from '@taskwire/contracts';
import { schemaRef } from '@taskwire/json-schema';
import { makeTemplate } from '../store/contract/fixtures.js';
import type { OutboxRecord } from '../store/types.js';
import { seedTask } from '../testing/seed.js';
import { DIALECTS, openTestStore } from '../testing/stores.js';
import { systemClock } from './clock.js';
import type { DomainDeps } from './deps.js';
import { noSignals } from './deps.js';
import { queueTask } from './dispatch.js';
import { newId } from './ids.js';
import { publishTemplateSchemas } from './schema-refs.js';
import { createTasks } from './tasks.js';
import { createTemplate, updateTemplate } from './templates.js';

/** A typical hand-written param_schema: a few typed properties, two required. */
const TYPICAL = {
  type: 'object',
  properties: {
    to: { type: 'string', format: 'email' },
    subject: { type: 'string', maxLength: 200 },
    body: { type: 'string' },
    priority: { type: 'integer', minimum: 0, maximum: 9 },
  },
  required: ['to', 'subject'],
  additionalProperties: false,
};

describe.each(DIALECTS)('schema references on %s', (dialect) => {
  let deps: DomainDeps;
  let cleanup: () => Promise<void>;
  const outbox = async (): Promise<OutboxRecord[]> => deps.store.listUnsentOutbox(10_000);
  const markAllSent = async (): Promise<void> => {
    const rows = await outbox();
    await deps.store.markOutboxSent(
      rows.map((r) => r.id!),
      new Date(),
    );
  };
  beforeAll(async () => {
    const db = await openTestStore(dialect);
    cleanup = db.cleanup;
    await db.store.migrate();
    deps = {
      store: db.store,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      settings: { dispatchTopic: 'dispatch', controlTopic: 'control', schemaTopic: 'schemas' },
      signals: noSignals,
    };
  });
  afterAll(() => cleanup());

  it('a dispatch names its schema by hash, the schema row goes out with the template, and the dispatch carries no param_schema', async () => {
    await markAllSent();
    const t = await createTemplate(deps, { name: 'mail', executor: 'echo', paramSchema: TYPICAL });
    const [created] = await createTasks(deps, [
      { templateId: t.id, params: { to: 'a@example.com', subject: 'hi', body: 'hello', priority: 1 } },
    ]);
    expect(created?.ok).toBe(true);
    const rows = await outbox();
    expect(rows.map((r) => r.topic)).toEqual(['schemas', 'dispatch']);
    const ref = schemaRef(TYPICAL);
    const schemaRow = decodeSchemaMessage(rows[0]!.payload);
    expect(rows[0]!.key).toBe(ref);
    expect(schemaRow).toEqual({ ok: true, value: { v: 1, hash: ref, param_schema: TYPICAL } });
    const dispatch = decodeDispatch(rows[1]!.payload);
    expect(dispatch.ok && dispatch.value.param_schema_ref).toBe(ref);
    expect(rows[1]!.payload).not.toContain('param_schema"');
    // The same dispatch with the schema inline, as before: the reference is smaller.
    const inline = JSON.stringify({ ...JSON.parse(rows[1]!.payload), param_schema: TYPICAL });
    expect(rows[1]!.payload.length).toBeLessThan(inline.length);
  });

  it('a changed param_schema is published with the change; an unchanged one and other edits publish nothing', async () => {
    const t = await createTemplate(deps, {
      name: 'versions',
      executor: 'echo',
      paramSchema: { type: 'object' },
    });
    await markAllSent();
    await updateTemplate(deps, t.id, { description: 'no schema change', paramSchema: { type: 'object' } });
    expect(await outbox()).toEqual([]);
    const next = { type: 'object', required: ['n'] };
    await updateTemplate(deps, t.id, { paramSchema: next });
    const rows = await outbox();
    expect(rows.map((r) => [r.topic, r.key])).toEqual([['schemas', schemaRef(next)]]);
  });

  it('a template without a param_schema dispatches neither param_schema nor a reference', async () => {
    await markAllSent();
    const t = await createTemplate(deps, { name: 'plain', executor: 'echo' });
    await createTasks(deps, [{ templateId: t.id, params: {} }]);
    const rows = await outbox();
    expect(rows.map((r) => r.topic)).toEqual(['dispatch']);
    expect(rows[0]!.payload).not.toContain('param_schema');
  });

  it("a retry of a deleted template's task publishes its schema again, ahead of the dispatch (start publishes only live templates)", async () => {
    const schema = { type: 'object', properties: { gone: { type: 'string' } } };
    const now = new Date();
    const t = makeTemplate({ id: newId(now.getTime()), name: 'deleted-later', paramSchema: schema });
    const task = await seedTask(deps.store, t, now, { status: 'RETRYING', attempt: 1 });
    await deps.store.deleteTemplate(t.id, now);
    await markAllSent();
    const deleted = (await deps.store.getTemplateIncludingDeleted(t.id))!;
    expect(deleted.deletedAt).not.toBeNull();
    await deps.store.unitOfWork((tx) => queueTask(tx, task, deleted, new Date(), deps.settings));
    const rows = await outbox();
    expect(rows.map((r) => [r.topic, r.key])).toEqual([
      ['schemas', schemaRef(schema)],
      ['dispatch', task.id],
    ]);
  });

  it('publishing at start writes one row per distinct schema of the templates that existed before', async () => {
    await markAllSent();
    // Stored without a schema row, as by a manager from before schema references.
    const old = { type: 'object', properties: { legacy: { type: 'boolean' } } };
    const now = new Date();
    await deps.store.insertTemplate(
      makeTemplate({ id: newId(now.getTime()), name: 'legacy-1', paramSchema: old }),
    );
    await deps.store.insertTemplate(
      makeTemplate({ id: newId(now.getTime() + 1), name: 'legacy-2', paramSchema: { ...old } }),
    );
    expect(await outbox()).toEqual([]);
    const written = await publishTemplateSchemas(deps);
    const rows = await outbox();
    expect(rows).toHaveLength(written);
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
    expect(rows.map((r) => r.key)).toContain(schemaRef(old));
    expect(rows.every((r) => r.topic === 'schemas')).toBe(true);
  });
});
