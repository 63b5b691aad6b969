// createTasks on both dialects: idempotency keys hold across concurrent transactions (MySQL really races).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DIALECTS, openTestStore } from '../testing/stores.js';
import { systemClock } from './clock.js';
import type { DomainDeps } from './deps.js';
import { noSignals } from './deps.js';
import { createTasks } from './tasks.js';
import { createTemplate } from './templates.js';

describe.each(DIALECTS)('createTasks on %s', (dialect) => {
  let deps: DomainDeps;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const db = await openTestStore(dialect);
    cleanup = db.cleanup;
    await db.store.migrate();
    deps = {
      store: db.store,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
      signals: noSignals,
    };
  });
  afterAll(() => cleanup());

  it('concurrent transactions with one idempotency key create one task; their other items still succeed', async () => {
    const t = await createTemplate(deps, { name: 'race', executor: 'echo' });
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        createTasks(deps, [{ templateId: t.id, idempotencyKey: 'same' }, { templateId: t.id }]),
      ),
    );
    const keyed = runs.map((r) => r[0]!);
    const ids = new Set(keyed.map((r) => (r.ok ? r.value.task.id : 'error')));
    expect([...ids]).toHaveLength(1);
    expect([...ids][0]).not.toBe('error');
    expect(keyed.filter((r) => r.ok && r.value.created)).toHaveLength(1);
    expect(runs.every((r) => r[1]!.ok && r[1]!.value.created)).toBe(true);
    expect(await deps.store.getTasksByIdempotencyKeys(['same'])).toHaveLength(1);
  });

  it('writes each created task with its events and outbox row in the same transaction', async () => {
    const t = await createTemplate(deps, { name: 'rows', executor: 'echo' });
    const [r] = await createTasks(deps, [{ templateId: t.id }]);
    expect(r?.ok).toBe(true);
    const task = (r as { ok: true; value: { task: { id: string } } }).value.task;
    expect((await deps.store.listEvents(task.id)).map((e) => e.type)).toEqual(['created', 'queued']);
    expect((await deps.store.listUnsentOutbox(1000)).filter((o) => o.key === task.id)).toHaveLength(1);
  });
});
