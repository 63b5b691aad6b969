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
  WaitingHead,
} from '../store/types.js';
import type { DomainDeps } from './deps.js';
import type { DispatchSettings } from './dispatch.js';
import { queueTask } from './dispatch.js';
import { loadTaskTemplates } from './task-templates.js';
import { roundRobin } from './round-robin.js';

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

type Key = string | null;

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One admission pass over `queue` in one unit of work: locks the queue, counts its in-flight
 * tasks per key, and queues WAITING tasks highest priority level first, serving the keys of a
 * level round-robin (the key with the fewest in flight first, then the oldest) within
 * max_in_flight and each key's concurrency_limit; slots a level cannot use (its keys at their
 * limit) go to the next level down. A fixed number of statements per level (the heads of all the
 * keys it serves in one read), whatever the number of keys. Returns how many it queued and the
 * slots it left; call again while it queued some and left slots (a key may have more heads than
 * one pass reads of it).
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
    const before = slots;
    /** Tasks of a key in flight, this pass's admissions included (unkeyed: no per-key limit, 0). */
    const load = new Map<Key, number>();
    for (const c of inFlight) {
      if (c.concurrencyKey !== null) load.set(c.concurrencyKey, (load.get(c.concurrencyKey) ?? 0) + c.n);
    }
    const loadOf = (k: Key) => (k === null ? 0 : (load.get(k) ?? 0));

    const templates = await tx.listTemplatesOfQueue(queue);
    const paused = templates.filter((t) => t.paused).map((t) => t.id);
    const limitOf = new Map(templates.map((t) => [t.id, t.concurrencyLimit ?? 1]));
    const maxLimit = Math.max(1, ...limitOf.values());

    const groups = await tx.listWaitingKeys(queue, paused);
    // A key's oldest waiting task (any level) orders keys of equal load: the oldest key first.
    const oldest = new Map<Key, string>();
    const levels = new Map<number, Key[]>();
    for (const g of groups) {
      const o = oldest.get(g.concurrencyKey);
      if (o === undefined || g.firstId < o) oldest.set(g.concurrencyKey, g.firstId);
      const keys = levels.get(g.priority) ?? [];
      keys.push(g.concurrencyKey);
      levels.set(g.priority, keys);
    }
    /** Keys that must not take more this pass: at a head's template limit, or with unread heads above. */
    const done = new Set<Key>();
    const chosen: WaitingHead[] = [];
    for (const level of [...levels.keys()].sort((a, b) => b - a)) {
      if (slots <= 0) break;
      let pending = levels.get(level)!.filter((k) => !done.has(k));
      while (slots > 0 && pending.length > 0) {
        const serve = pending
          .filter((k) => k === null || loadOf(k) < maxLimit)
          .sort((a, b) => loadOf(a) - loadOf(b) || byId(oldest.get(a)!, oldest.get(b)!))
          .slice(0, slots);
        if (serve.length === 0) break;
        const served = new Set(serve);
        pending = pending.filter((k) => !served.has(k));
        // A key can take at most (its limit − its load) more: read no more heads than that.
        const wanted = serve.map((k) => ({
          concurrencyKey: k,
          limit: k === null ? slots : Math.min(slots, HEADS_PER_KEY, maxLimit - loadOf(k)),
        }));
        const rows = (await tx.listWaitingHeads(queue, level, wanted, paused)).sort((a, b) =>
          byId(a.id, b.id),
        );
        const heads = new Map<Key, WaitingHead[]>(serve.map((k) => [k, []]));
        for (const t of rows) heads.get(t.concurrencyKey)?.push(t);
        for (const w of wanted) {
          // Heads left unread at this level: its lower levels must wait for the next pass.
          if (heads.get(w.concurrencyKey)!.length >= w.limit) done.add(w.concurrencyKey);
        }
        // Round-robin: each turn takes one task from the least-loaded key that may take one more.
        const { taken, stopped } = roundRobin(
          serve.map((k) => ({ key: k, load: loadOf(k), heads: heads.get(k)! })),
          slots,
          (head) => limitOf.get(head.templateId) ?? 1,
        );
        for (const k of stopped) done.add(k);
        for (const head of taken) {
          chosen.push(head);
          if (head.concurrencyKey !== null) load.set(head.concurrencyKey, loadOf(head.concurrencyKey) + 1);
        }
        slots -= taken.length;
      }
    }
    if (chosen.length === 0) return { admitted: 0, slotsLeft: before };
    // The whole rows of the chosen only (their params go into the dispatch).
    const rowOf = new Map((await tx.getTasks(chosen.map((h) => h.id))).map((t) => [t.id, t]));
    const templateOf = await loadTaskTemplates(tx, [...rowOf.values()]);
    // In the order chosen: the outbox sends them in this order (higher levels first).
    const runnable = chosen
      .map((h) => rowOf.get(h.id))
      .filter((t): t is TaskRecord => t?.status === 'WAITING' && templateOf.has(t.templateId));
    // One compare-and-set for the batch (queueTask's, per attempt); only the tasks it moved get
    // their `queued` event and dispatch.
    const moved = await tx.queueWaitingTasks(runnable, now);
    let admitted = 0;
    const collect = { events: [] as TaskEventRecord[], outbox: [] as OutboxRecord[] };
    for (const task of runnable) {
      if (!moved.has(task.id)) continue;
      // A copy: a unit of work retried after a MySQL deadlock runs again from the rows as read.
      const eventData = { admitted: true };
      const template = templateOf.get(task.templateId)!;
      await queueTask(tx, { ...task }, template, now, deps.settings, { insert: true, eventData, collect });
      admitted++;
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
