// Test fixture: a stored task of a template as of a given instant, and worker result messages for it.
import type { ResultMessage } from '@taskwire/contracts';
import { newId } from '../domain/ids.js';
import { makeTask, makeTemplate } from '../store/contract/fixtures.js';
import type { StoreOps, TaskRecord, TemplateRecord } from '../store/types.js';

/**
 * A template whose id sorts at `at`, with a 10 s timeout and a backoff without jitter (1 s, 2 s, 4 s …),
 * so that retry times are exact.
 */
export function templateAt(at: Date, overrides: Partial<TemplateRecord> = {}): TemplateRecord {
  return makeTemplate({
    id: newId(at.getTime()),
    backoff: { initialMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0 },
    timeoutMs: 10_000,
    ...overrides,
  });
}

/**
 * Stores `template` unless it is there already, then a task of it created at `at`: queued then
 * (unless PENDING) and started then (if RUNNING); `patch` overrides any field.
 */
export async function seedTask(
  store: StoreOps,
  template: TemplateRecord,
  at: Date,
  patch: Partial<TaskRecord> = {},
): Promise<TaskRecord> {
  if (!(await store.getTemplateIncludingDeleted(template.id))) await store.insertTemplate(template);
  const status = patch.status ?? 'QUEUED';
  const task = makeTask({
    templateId: template.id,
    name: template.name,
    createdAt: at,
    queuedAt: status === 'PENDING' ? null : at,
    startedAt: status === 'RUNNING' ? at : null,
    updatedAt: at,
    ...patch,
  });
  await store.insertTasks([task]);
  return task;
}

/** A `succeeded` result for attempt 1 of `task` from worker w1, reported at `at` (epoch ms). */
export function resultFor(task: TaskRecord, at: number, over: Partial<ResultMessage> = {}): ResultMessage {
  return { v: 1, type: 'succeeded', task_id: task.id, attempt: 1, worker_id: 'w1', at, ...over };
}
