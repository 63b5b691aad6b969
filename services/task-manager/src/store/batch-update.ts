// What both dialects' updateTasks share: one update per task, and a guard judged against a row.
import type { TaskGuard, TaskRecord, TaskUpdate } from './types.js';

/** Refuses a batch naming a task twice: which of its patches would win is undefined. */
export function assertDistinctTasks(updates: readonly TaskUpdate[]): void {
  const seen = new Set<string>();
  for (const u of updates) {
    if (seen.has(u.id)) throw new Error(`updateTasks: task ${u.id} is given twice in one batch`);
    seen.add(u.id);
  }
}

/** Whether `row` matches `guard`, as updateTask's WHERE would judge it. */
export function guardHolds(
  row: Pick<TaskRecord, 'status' | 'attempt'>,
  guard: TaskGuard | undefined,
): boolean {
  if (guard?.status && !guard.status.includes(row.status)) return false;
  return guard?.attempt === undefined || guard.attempt === row.attempt;
}

/** The columns a patch sets (undefined values are not set), in the patch's own order. */
export function patchKeys(patch: object): string[] {
  return Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
}
