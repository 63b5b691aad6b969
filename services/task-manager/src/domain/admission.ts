// Admission: a task due to run is QUEUED at once, or WAITING while its queue is paused or limited,
// its template paused or it has a concurrency key; admitQueue moves WAITING tasks on as slots free.
//
// Exactness across replicas: every admission to a constrained queue happens in admitQueue, whose
// unit of work first locks the queue's settings row (Store.lockQueue). In-flight counts are read
// after the lock, so two replicas never both take the last slot. A slot is a task row in QUEUED or
// RUNNING: nothing is counted separately, so nothing can leak — a slot frees when its task leaves
// those statuses, whichever path moves it (result, cancel, timeout, retry).
import type {
  OutboxRecord,
  QueueRecord,
  StoreOps,
  TaskEventRecord,
  TaskRecord,
  TemplateRecord,
} from '../store/types.js';
import type { DomainDeps } from './deps.js';
import type { DispatchSettings } from './dispatch.js';
import { queueTask } from './dispatch.js';
import { loadTaskTemplates } from './task-templates.js';

/** Tasks admitted per unit of work at most. */
const ADMIT_BATCH = 500;
/** Waiting tasks read per concurrency key per pass at most. */
const HEADS_PER_KEY = 50;

/** The settings of the queues a batch of tasks is in (absent: unlimited, running). */
export type AdmissionGate = ReadonlyMap<string, QueueRecord>;

export async function loadAdmissionGate(tx: StoreOps, queues: Iterable<string>): Promise<AdmissionGate> {
  const names = [...new Set(queues)];
  return new Map((await tx.listQueueSettings(names)).map((q) => [q.name, q]));
}

/** Why a task must go through admission (WAITING) rather than straight to QUEUED; null: it need not. */
export function admissionReason(
  task: Pick<TaskRecord, 'queue' | 'concurrencyKey'>,
  template: Pick<TemplateRecord, 'paused'>,
  gate: AdmissionGate,
): string | null {
  const queue = gate.get(task.queue);
  if (queue?.paused) return 'queue_paused';
  if (template.paused) return 'template_paused';
  if (queue && queue.maxInFlight !== null) return 'queue_limited';
  if (task.concurrencyKey !== null) return 'concurrency_key';
  return null;
}

/**
 * THE entry point for "this task should run now": queues it (QUEUED + outbox, via queueTask) when
 * nothing constrains its queue, or makes it WAITING (`waiting` event) for admitQueue to admit in
 * priority order within the limits. A RETRYING (or `newAttempt`) task moves to its next attempt
 * either way. Call inside a unit of work; compare-and-set on status + attempt like queueTask
 * (returns null when another transaction moved the task first). With `insert`, the caller inserts
 * the row itself, in the status this function returns (`admissionStatus` tells it beforehand).
 * After commit, call `deps.signals.admit?.(task.queue)` when it returned 'waiting'.
 */
export async function queueOrWait(
  tx: StoreOps,
  task: TaskRecord,
  template: TemplateRecord,
  now: Date,
  settings: DispatchSettings,
  opts: {
    gate?: AdmissionGate;
    insert?: boolean;
    newAttempt?: boolean;
    eventData?: Record<string, unknown>;
  } = {},
): Promise<'queued' | 'waiting' | null> {
  const gate = opts.gate ?? (await loadAdmissionGate(tx, [task.queue]));
  const reason = admissionReason(task, template, gate);
  if (reason === null) {
    return (await queueTask(tx, task, template, now, settings, opts)) ? 'queued' : null;
  }
  const attempt = opts.newAttempt || task.status === 'RETRYING' ? task.attempt + 1 : task.attempt;
  const patch = {
    status: 'WAITING' as const,
    attempt,
    updatedAt: now,
    nextAttemptAt: null,
    ...(attempt !== task.attempt ? { startedAt: null, finishedAt: null, workerId: null } : {}),
  };
  if (!opts.insert) {
    const changed = await tx.updateTask(task.id, patch, { status: [task.status], attempt: task.attempt });
    if (!changed) return null;
  }
  Object.assign(task, patch);
  await tx.insertEvents([
    {
      taskId: task.id,
      attempt: task.attempt,
      type: 'waiting',
      at: now,
      workerId: null,
      data: { queue: task.queue, reason, ...opts.eventData },
    },
  ]);
  return 'waiting';
}

/** Status a new task due now is inserted with (for callers inserting rows themselves). */
export function admissionStatus(
  task: Pick<TaskRecord, 'queue' | 'concurrencyKey'>,
  template: Pick<TemplateRecord, 'paused'>,
  gate: AdmissionGate,
): 'QUEUED' | 'WAITING' {
  return admissionReason(task, template, gate) === null ? 'QUEUED' : 'WAITING';
}

interface KeyState {
  key: string | null;
  /** Its tasks QUEUED or RUNNING (0 for unkeyed tasks: they have no per-key limit). */
  load: number;
  heads: TaskRecord[];
}

/**
 * One admission pass over `queue` in one unit of work: locks the queue, counts its in-flight
 * tasks, and queues WAITING tasks of the highest waiting priority among those that may run,
 * serving keys round-robin (the key with the fewest in flight first, then the oldest) within
 * max_in_flight and each key's concurrency_limit. Returns how many it queued; call again while it
 * returns more than 0 (the next pass takes the next priority level).
 */
export async function admitOnce(
  deps: Pick<DomainDeps, 'store' | 'clock' | 'settings'>,
  queue: string,
): Promise<{ admitted: number; slotsLeft: number }> {
  const now = deps.clock.now();
  return deps.store.unitOfWork(async (tx) => {
    const settings = await tx.lockQueue(queue, now);
    if (settings.paused) return { admitted: 0, slotsLeft: 0 };
    const inFlight = await tx.countQueueTasks(queue, ['QUEUED', 'RUNNING']);
    const total = inFlight.reduce((sum, c) => sum + c.n, 0);
    let slots =
      settings.maxInFlight === null ? ADMIT_BATCH : Math.min(ADMIT_BATCH, settings.maxInFlight - total);
    if (slots <= 0) return { admitted: 0, slotsLeft: 0 };
    const loadOf = new Map<string, number>();
    for (const c of inFlight) {
      if (c.concurrencyKey !== null) loadOf.set(c.concurrencyKey, (loadOf.get(c.concurrencyKey) ?? 0) + c.n);
    }

    const templates = await tx.listTemplatesOfQueue(queue);
    const paused = new Set(templates.filter((t) => t.paused).map((t) => t.id));
    const limitOf = new Map(templates.map((t) => [t.id, t.concurrencyLimit ?? 1]));
    const maxLimit = Math.max(1, ...limitOf.values());

    const waiting = await tx.listWaitingKeys(queue, [...paused]);
    const candidates = waiting.filter(
      (k) => k.concurrencyKey === null || (loadOf.get(k.concurrencyKey) ?? 0) < maxLimit,
    );
    if (candidates.length === 0) return { admitted: 0, slotsLeft: slots };
    // Strict priority: this pass serves only the highest level among keys that may run.
    const level = Math.max(...candidates.map((k) => k.priority));
    const keys: KeyState[] = [];
    const ordered = candidates
      .filter((k) => k.priority === level)
      .map((k) => ({ ...k, load: k.concurrencyKey === null ? 0 : (loadOf.get(k.concurrencyKey) ?? 0) }))
      .sort((a, b) => a.load - b.load || (a.firstId < b.firstId ? -1 : a.firstId > b.firstId ? 1 : 0));
    for (const k of ordered.slice(0, slots)) {
      // A key can take at most (its limit − its load) more: read no more heads than that.
      const limit = k.concurrencyKey === null ? slots : Math.min(slots, HEADS_PER_KEY, maxLimit - k.load);
      const heads = await tx.listWaitingTasks(queue, k.concurrencyKey, level, limit, [...paused]);
      keys.push({ key: k.concurrencyKey, load: k.load, heads });
    }
    const chosen: TaskRecord[] = [];
    const before = slots;
    // Round-robin: each turn takes one task from the least-loaded key that may take one more.
    const taken = new Map<KeyState, number>();
    while (slots > 0) {
      let best: KeyState | null = null;
      for (const k of keys) {
        const i = taken.get(k) ?? 0;
        const head = k.heads[i];
        if (!head) continue;
        if (k.key !== null && k.load + i >= (limitOf.get(head.templateId) ?? 1)) continue;
        const load = k.key === null ? 0 : k.load + i;
        const bestLoad =
          best === null ? Infinity : best.key === null ? 0 : best.load + (taken.get(best) ?? 0);
        const bestHead = best?.heads[taken.get(best) ?? 0];
        if (best === null || load < bestLoad || (load === bestLoad && head.id < bestHead!.id)) best = k;
      }
      if (!best) break;
      const i = taken.get(best) ?? 0;
      chosen.push(best.heads[i]!);
      taken.set(best, i + 1);
      slots--;
    }
    if (chosen.length === 0) return { admitted: 0, slotsLeft: slots };
    const byId = await loadTaskTemplates(tx, chosen);
    let admitted = 0;
    const collect = { events: [] as TaskEventRecord[], outbox: [] as OutboxRecord[] };
    for (const task of chosen) {
      const template = byId.get(task.templateId);
      if (!template) continue;
      // A copy: a unit of work retried after a MySQL deadlock runs again from the rows as read.
      const eventData = { admitted: true };
      if (await queueTask(tx, { ...task }, template, now, deps.settings, { eventData, collect })) admitted++;
    }
    await tx.insertEvents(collect.events);
    await tx.insertOutbox(collect.outbox);
    return { admitted, slotsLeft: before - admitted };
  });
}

/** Admits in `queue` until a pass admits nothing (all levels, up to `maxPasses`); returns the total. */
export async function admitQueue(
  deps: Pick<DomainDeps, 'store' | 'clock' | 'settings' | 'signals'>,
  queue: string,
  maxPasses = 20,
): Promise<number> {
  let total = 0;
  // Outside the lock and cheap (one index entry): most queues have nothing waiting.
  if (!(await deps.store.hasWaiting(queue))) return 0;
  for (let pass = 0; pass < maxPasses; pass++) {
    const { admitted, slotsLeft } = await admitOnce(deps, queue);
    total += admitted;
    if (admitted > 0) deps.signals.outboxWritten();
    // Slots left after a pass that admitted: a lower priority level may take them.
    if (admitted === 0 || slotsLeft <= 0) break;
  }
  return total;
}
