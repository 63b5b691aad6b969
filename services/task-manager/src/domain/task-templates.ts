// The templates tasks run under: looked up by id, deleted ones included (results, watchdog, due loop).
import type { StoreOps, TaskRecord, TemplateRecord } from '../store/types.js';

/**
 * The templates of `tasks` by id, deleted ones included: a task keeps running, retrying and timing
 * out under the template it was created from.
 */
export async function loadTaskTemplates(
  tx: StoreOps,
  tasks: readonly Pick<TaskRecord, 'templateId'>[],
): Promise<Map<string, TemplateRecord>> {
  const ids = [...new Set(tasks.map((t) => t.templateId))];
  const found = new Map((await tx.getTemplates(ids)).map((t) => [t.id, t]));
  for (const id of ids) {
    if (found.has(id)) continue;
    const deleted = await tx.getTemplateIncludingDeleted(id);
    if (deleted) found.set(id, deleted);
  }
  return found;
}
