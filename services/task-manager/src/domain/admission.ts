// Admission: a task due to run is QUEUED at once when its queue has room for it, or WAITING while its
// queue or template is paused or its queue or key is full; admitQueue moves WAITING tasks on as slots free.
//
// Exactness across replicas: every admission that takes a counted slot (a queue with max_in_flight,
// a concurrency key), in admitQueue, at once through the gate, or in the result batch that freed the
// slot (admitFreed), happens in a unit of work that locks the queue's settings row (Store.lockQueue)
// before it reads what it decides on. In-flight counts are read
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

/** What the gate asks of a task: its queue, its key and its priority (id: one answer per task). */
export type AdmissionCandidate = Pick<TaskRecord, 'id' | 'queue' | 'concurrencyKey' | 'priority'>;

/**
 * Admission inside one unit of work: decides, task by task, whether a task due now is queued at
 * once or must wait, and counts the slots it hands out, so that a batch takes no more than fit.
 * One per unit of work (a MySQL unit of work run again after a deadlock makes a new one).
 */
export interface AdmissionGate {
  /**
   * Reads what the decisions about these tasks need, queue by queue in name order (so that units
   * of work lock queues in one order): the settings row, and where a task would take a counted
   * slot (a max_in_flight, or a concurrency key) the queue's lock and its counts. Optional:
   * `reasonFor` reads what is missing itself.
   */
  prepare(items: ReadonlyArray<{ task: AdmissionCandidate; template: TemplateRecord }>): Promise<void>;
  /**
   * Why `task` must wait (WAITING with this reason), or null: it is queued now and takes its slot.
   * Asked again about the same task id, the first answer.
   */
  reasonFor(task: AdmissionCandidate, template: TemplateRecord): Promise<string | null>;
  /** A task `reasonFor` let through was not queued after all (its compare-and-set lost): its slot back. */
  release(task: AdmissionCandidate): void;
}

/** One queue as a gate knows it. */
interface QueueState {
  /** Read plainly, or under the lock once `locked`. */
  settings: QueueRecord | null;
  locked: boolean;
  /** QUEUED + RUNNING tasks, this gate's admissions included (read under the lock when limited). */
  total: number;
  /** In-flight tasks per key, this gate's admissions included (the keys read). */
  load: Map<string, number>;
  /** Top WAITING priority per key, -1: none (the keys read; queues without max_in_flight). */
  keyTop: Map<string, number>;
  /** hasWaiting(queue, priority), per priority asked (queues with max_in_flight). */
  waitingFrom: Map<number, boolean>;
  /** The highest priority this gate made wait in the queue (-1: none), and per key. */
  heldTop: number;
  heldKeyTop: Map<string, number>;
}

const isLimited = (s: QueueRecord | null): boolean => s !== null && s.maxInFlight !== null;

/**
 * The admission gate of a unit of work (see AdmissionGate). A task due now is queued at once when
 * its queue and template are not paused and, if a slot of it is counted (its queue has
 * max_in_flight, or it has a concurrency key): the queue's lock is held (Store.lockQueue, the lock
 * admitOnce takes, so the counts are exact across replicas), there is room (the queue's total below
 * max_in_flight, the key's load below its template's concurrency_limit), and nothing of its
 * priority or above waits before it (in the queue when the queue has max_in_flight, else of its
 * key), so priority order and round-robin stay the admission pass's. Otherwise it waits for
 * admitQueue. A task nothing counts (no limit, no key) takes no lock: one settings read per queue.
 */
export function admissionGate(tx: StoreOps, now: Date): AdmissionGate {
  const states = new Map<string, QueueState>();
  const decided = new Map<string, string | null>();

  const stateOf = (queue: string): QueueState => {
    let st = states.get(queue);
    if (!st) {
      st = {
        settings: null,
        locked: false,
        total: 0,
        load: new Map(),
        keyTop: new Map(),
        waitingFrom: new Map(),
        heldTop: -1,
        heldKeyTop: new Map(),
      };
      states.set(queue, st);
    }
    return st;
  };
  const read = new Set<string>();

  async function prepare(items: ReadonlyArray<{ task: AdmissionCandidate; template: TemplateRecord }>) {
    const wanted = new Map<string, Set<string>>();
    for (const { task, template } of items) {
      if (decided.has(task.id) || template.paused) continue;
      const keys = wanted.get(task.queue) ?? new Set<string>();
      if (task.concurrencyKey !== null) keys.add(task.concurrencyKey);
      wanted.set(task.queue, keys);
    }
    for (const queue of [...wanted.keys()].sort()) {
      const st = stateOf(queue);
      const keys = wanted.get(queue)!;
      // A keyed task needs the lock, which returns the row: no plain read first.
      if (!read.has(queue) && keys.size === 0) st.settings = await tx.getQueueSettings(queue);
      read.add(queue);
      if (!st.locked && (keys.size > 0 || isLimited(st.settings)) && !st.settings?.paused) {
        st.settings = await tx.lockQueue(queue, now);
        st.locked = true;
        if (isLimited(st.settings) && !st.settings.paused) {
          // The queue's in-flight tasks per key: bounded by max_in_flight.
          for (const c of await tx.countQueueTasks(queue, ['QUEUED', 'RUNNING'])) {
            st.total += c.n;
            if (c.concurrencyKey !== null)
              st.load.set(c.concurrencyKey, (st.load.get(c.concurrencyKey) ?? 0) + c.n);
          }
        }
      }
      if (!st.locked || st.settings?.paused || isLimited(st.settings)) continue;
      const missing = [...keys].filter((k) => !st.keyTop.has(k));
      if (missing.length === 0) continue;
      for (const k of await tx.keyAdmission(queue, missing)) {
        st.load.set(k.concurrencyKey, k.inFlight);
        st.keyTop.set(k.concurrencyKey, k.topWaiting ?? -1);
      }
      for (const k of missing) if (!st.keyTop.has(k)) st.keyTop.set(k, -1);
    }
  }

  async function decide(task: AdmissionCandidate, template: TemplateRecord): Promise<string | null> {
    const st = stateOf(task.queue);
    if (template.paused) {
      if (!read.has(task.queue)) {
        st.settings = await tx.getQueueSettings(task.queue);
        read.add(task.queue);
      }
      // Not held: a paused template's tasks stand before no other template's (as in admitOnce).
      return st.settings?.paused ? 'queue_paused' : 'template_paused';
    }
    await prepare([{ task, template }]);
    if (st.settings?.paused) return 'queue_paused';
    const key = task.concurrencyKey;
    const hold = (reason: string) => {
      st.heldTop = Math.max(st.heldTop, task.priority);
      if (key !== null) st.heldKeyTop.set(key, Math.max(st.heldKeyTop.get(key) ?? -1, task.priority));
      return reason;
    };
    const max = st.settings?.maxInFlight ?? null;
    if (max !== null) {
      if (st.total >= max || st.heldTop >= task.priority) return hold('queue_limited');
      let ahead = st.waitingFrom.get(task.priority);
      if (ahead === undefined) {
        ahead = await tx.hasWaiting(task.queue, task.priority);
        st.waitingFrom.set(task.priority, ahead);
      }
      if (ahead) return hold('queue_limited');
    } else if (key !== null) {
      if (Math.max(st.keyTop.get(key) ?? -1, st.heldKeyTop.get(key) ?? -1) >= task.priority)
        return hold('concurrency_key');
    }
    if (key !== null && (st.load.get(key) ?? 0) >= (template.concurrencyLimit ?? 1))
      return hold('concurrency_key');
    st.total++;
    if (key !== null) st.load.set(key, (st.load.get(key) ?? 0) + 1);
    return null;
  }

  return {
    prepare,
    async reasonFor(task, template) {
      const known = decided.get(task.id);
      if (known !== undefined) return known;
      const reason = await decide(task, template);
      decided.set(task.id, reason);
      return reason;
    },
    release(task) {
      if (decided.get(task.id) !== null) return;
      decided.delete(task.id);
      const st = states.get(task.queue);
      if (!st) return;
      st.total--;
      const key = task.concurrencyKey;
      if (key !== null && st.load.has(key)) st.load.set(key, st.load.get(key)! - 1);
    },
  };
}

/**
 * THE entry point for "this task should run now": queues it (QUEUED + outbox, via queueTask) when
 * the admission gate lets it through at once (nothing constrains it, or a slot is free and nothing
 * of its priority or above waits before it), or makes it WAITING (`waiting` event) for admitQueue
 * to admit in priority order within the limits. A RETRYING (or `newAttempt`) task moves to its
 * next attempt either way. Call inside a unit of work; compare-and-set on status + attempt like
 * queueTask (returns null when another transaction moved the task first). Tasks of one unit of
 * work share one `gate`, so that a batch takes no more slots than are free. With `insert`, the
 * caller inserts the row itself after this call, in the status this leaves on `task`; with
 * `collect`, the events and outbox row are collected for the caller to insert in bulk. After
 * commit, call `deps.signals.admit?.(task.queue)` when it returned 'waiting'.
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
    collect?: { events: TaskEventRecord[]; outbox: OutboxRecord[] };
  } = {},
): Promise<'queued' | 'waiting' | null> {
  const gate = opts.gate ?? admissionGate(tx, now);
  const reason = await gate.reasonFor(task, template);
  if (reason === null) {
    if (await queueTask(tx, task, template, now, settings, opts)) return 'queued';
    gate.release(task);
    return null;
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
  const event: TaskEventRecord = {
    taskId: task.id,
    attempt: task.attempt,
    type: 'waiting',
    at: now,
    workerId: null,
    data: { queue: task.queue, reason, ...opts.eventData },
  };
  if (opts.collect) opts.collect.events.push(event);
  else await tx.insertEvents([event]);
  return 'waiting';
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
 *
 * With `keys` (the keys whose slots freed) in a queue without max_in_flight, the pass serves only
 * those keys (each key's top waiting level, read with keyAdmission): there, a key's slot can go to
 * its own waiting tasks only, so the other keys need not be read, and a pass costs O(freed keys)
 * instead of O(waiting keys). `partial` then says whether a served key read fewer heads than it
 * had room for (it may wait at a lower level, or behind a paused template): a whole pass must follow.
 */
export async function admitOnce(
  deps: Pick<DomainDeps, 'store' | 'clock' | 'settings'>,
  queue: string,
  keys?: readonly string[],
): Promise<PassResult> {
  const now = deps.clock.now();
  return deps.store.unitOfWork((tx) => passIn(tx, deps.settings, queue, now, keys));
}

/** What one admission pass did (see admitOnce). */
interface PassResult {
  admitted: number;
  slotsLeft: number;
  partial?: boolean;
}

/** admitOnce's pass inside the caller's unit of work (it takes the queue's lock first). */
async function passIn(
  tx: StoreOps,
  dispatch: DispatchSettings,
  queue: string,
  now: Date,
  keys?: readonly string[],
): Promise<PassResult> {
  const settings = await tx.lockQueue(queue, now);
  if (settings.paused) return { admitted: 0, slotsLeft: 0 };
  const only =
    keys !== undefined && settings.maxInFlight === null ? await tx.keyAdmission(queue, keys) : null;
  let partial = false;
  const inFlight: Array<{ concurrencyKey: string | null; n: number }> = only
    ? only.map((k) => ({ concurrencyKey: k.concurrencyKey, n: k.inFlight }))
    : await tx.countQueueTasks(queue, ['QUEUED', 'RUNNING']);
  const total = inFlight.reduce((sum, c) => sum + c.n, 0);
  let slots =
    settings.maxInFlight === null ? ADMIT_BATCH : Math.min(ADMIT_BATCH, settings.maxInFlight - total);
  if (slots <= 0) return { admitted: 0, slotsLeft: 0 };
  const before = slots;
  const passResult = (admitted: number) =>
    only ? { admitted, slotsLeft: before - admitted, partial } : { admitted, slotsLeft: before - admitted };
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

  // Keys only: each key's top waiting level (all keys' order ties: in the order given).
  const groups = only
    ? only.flatMap((k) =>
        k.topWaiting === null
          ? []
          : [{ concurrencyKey: k.concurrencyKey, priority: k.topWaiting, firstId: '' }],
      )
    : await tx.listWaitingKeys(queue, paused);
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
      const rows = (await tx.listWaitingHeads(queue, level, wanted, paused)).sort((a, b) => byId(a.id, b.id));
      const heads = new Map<Key, WaitingHead[]>(serve.map((k) => [k, []]));
      for (const t of rows) heads.get(t.concurrencyKey)?.push(t);
      for (const w of wanted) {
        // Heads left unread at this level: its lower levels must wait for the next pass.
        if (heads.get(w.concurrencyKey)!.length >= w.limit) done.add(w.concurrencyKey);
        else if (only) partial = true;
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
  if (chosen.length === 0) return passResult(0);
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
    await queueTask(tx, { ...task }, template, now, dispatch, { insert: true, eventData, collect });
    admitted++;
  }
  await tx.insertEvents(collect.events);
  await tx.insertOutbox(collect.outbox);
  return passResult(admitted);
}

/**
 * Refills, inside the unit of work that freed them (a result batch), the slots freed in each queue
 * of `freed` (the keys whose slots freed, or null: an unkeyed one too): the pass admitQueue would
 * run first for it (admitOnce's, keys only when given), under the same queue lock, so a freed slot
 * is taken again with no transaction, wake-up or relay round of its own. Queues in name order
 * (units of work lock queues in one order); a queue with nothing waiting costs one index entry and
 * takes no lock. Returns how many it queued, and the queues whose admission the loop must go on
 * with after commit (whole queues: where admitQueue would run another pass).
 */
export async function admitFreed(
  tx: StoreOps,
  dispatch: DispatchSettings,
  freed: ReadonlyMap<string, ReadonlySet<string> | null>,
  now: Date,
): Promise<{ admitted: number; more: string[] }> {
  let admitted = 0;
  const more: string[] = [];
  for (const queue of [...freed.keys()].sort()) {
    if (!(await tx.hasWaiting(queue))) continue;
    const keys = freed.get(queue);
    const pass = await passIn(tx, dispatch, queue, now, keys ? [...keys] : undefined);
    admitted += pass.admitted;
    // As admitQueue goes on: a keys-only pass that may have left heads, a whole pass with slots left.
    if (pass.partial ?? (pass.admitted > 0 && pass.slotsLeft > 0)) more.push(queue);
  }
  return { admitted, more };
}

/**
 * Admits in `queue` until a pass admits nothing (all levels, up to `maxPasses`); returns the total.
 * `keys`: only slots of these keys freed (see admitOnce); a whole pass follows when that was partial.
 */
export async function admitQueue(
  deps: Pick<DomainDeps, 'store' | 'clock' | 'settings' | 'signals'>,
  queue: string,
  maxPasses = 20,
  keys?: readonly string[],
): Promise<number> {
  let total = 0;
  // Outside the lock and cheap (one index entry): most queues have nothing waiting.
  if (!(await deps.store.hasWaiting(queue))) return 0;
  let only = keys;
  for (let pass = 0; pass < maxPasses; pass++) {
    const { admitted, slotsLeft, partial } = await admitOnce(deps, queue, only);
    total += admitted;
    if (admitted > 0) deps.signals.outboxWritten();
    if (partial !== undefined) {
      // A pass over the freed keys only: done, unless a key may have more below what it read.
      if (!partial) break;
      only = undefined;
      continue;
    }
    // Slots left after a pass that admitted: a lower priority level may take them.
    if (admitted === 0 || slotsLeft <= 0) break;
  }
  return total;
}
