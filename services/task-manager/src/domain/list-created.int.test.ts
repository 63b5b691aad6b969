// listTasks by created_at range on a real SQLite file with a hand-driven clock: the id bounds the
// domain adds (ids.ts idBoundsOfCreated) find exactly the tasks of the range, edges included,
// also a task created after the clock stepped back (its id runs ahead of its created_at).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createTasks, listTasks } from './tasks.js';
import { createTemplate } from './templates.js';

let now = new Date('2033-03-03T03:03:03.000Z');
let fixture: SqliteDeps;
beforeAll(async () => {
  fixture = await openSqliteDeps({ clock: { now: () => now } });
});
afterAll(() => fixture.close());

const T = Date.UTC(2033, 2, 3, 3, 3, 3);
async function createAt(ms: number, templateId: string): Promise<string> {
  now = new Date(ms);
  const [r] = await createTasks(fixture.deps, [{ templateId }]);
  if (!r?.ok) throw new Error('not created');
  return r.value.task.id;
}
const ids = async (from?: number, to?: number, cursor?: string, limit = 50) =>
  (
    await listTasks(fixture.deps, {
      ...(from !== undefined ? { createdFrom: new Date(from) } : {}),
      ...(to !== undefined ? { createdTo: new Date(to) } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
      limit,
    })
  ).items.map((t) => t.id);

describe('listTasks by created_at range', () => {
  it('returns exactly the tasks created in [from, to), newest first, with paging', async () => {
    const { id: tpl } = await createTemplate(fixture.deps, { name: 'ranged', executor: 'echo' });
    const a = await createAt(T, tpl);
    const b = await createAt(T + 1_000, tpl);
    const c = await createAt(T + 90_000, tpl);
    const d = await createAt(T + 600_000, tpl);
    // The clock steps back 30 s: e's id keeps d's time, ahead of its created_at (within the slack).
    const e = await createAt(T + 570_000, tpl);
    expect(await ids(T, T + 1_000)).toEqual([a]);
    expect(await ids(T + 1_000, T + 90_001)).toEqual([c, b]);
    expect(await ids(T + 90_000, T + 600_000)).toEqual([e, c]);
    expect(await ids(T + 570_000, T + 570_001)).toEqual([e]);
    expect(await ids(T + 600_000)).toEqual([d]);
    expect(await ids(undefined, T + 1)).toEqual([a]);
    expect(await ids(T)).toEqual([e, d, c, b, a]);
    const first = await listTasks(fixture.deps, { createdFrom: new Date(T), limit: 2 });
    expect(first.items.map((t) => t.id)).toEqual([e, d]);
    expect(await ids(T, undefined, first.nextCursor!, 10)).toEqual([c, b, a]);
  });
});
