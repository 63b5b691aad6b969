// The Store interface: every read and write of the manager goes through it; dialects live below.
import type {
  MissedFirePolicy,
  OverlapPolicy,
  TaskEventType,
  TaskStatus,
  TaskTrigger,
  WireError,
} from '@taskwire/contracts';

export interface Backoff {
  initialMs: number;
  factor: number;
  maxMs: number;
  jitter: number;
}

export interface TemplateRecord {
  id: string;
  /** Unique among templates that are not deleted. */
  name: string;
  description: string | null;
  executor: string;
  queue: string;
  paramSchema: Record<string, unknown> | null;
  resultSchema: Record<string, unknown> | null;
  defaultParams: Record<string, unknown> | null;
  cronExpression: string | null;
  cronTimezone: string | null;
  enabled: boolean;
  maxAttempts: number;
  backoff: Backoff;
  timeoutMs: number;
  missedFirePolicy: MissedFirePolicy;
  overlapPolicy: OverlapPolicy;
  /**
   * A workflow template: its steps and on_failure, as POST /workflows takes them (wire JSON); it
   * then has no executor of its own, starts a whole workflow per cron fire and refuses POST /tasks.
   */
  workflow: WorkflowSpec | null;
  /**
   * Days its finished tasks are kept before the retention purge deletes them; null: RETENTION_DAYS.
   * 0 keeps them forever.
   */
  retentionDays: number | null;
  /** 0–9, higher first: the default priority of the template's tasks. */
  priority: number;
  /** Its tasks wait (WAITING) instead of being queued; cron still creates them. */
  paused: boolean;
  /** JSON Pointer into a task's params whose value is the task's concurrency key; null: none. */
  concurrencyKey: string | null;
  /** At most this many tasks with one key QUEUED or RUNNING in the queue; null: 1 for explicit keys. */
  concurrencyLimit: number | null;
  /** Soft delete: a deleted template keeps its tasks' history but frees its name. */
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface TaskRecord {
  id: string;
  templateId: string;
  name: string;
  description: string | null;
  queue: string;
  params: unknown;
  status: TaskStatus;
  result: unknown;
  error: WireError | null;
  attempt: number;
  maxAttempts: number;
  /** Per-task override of the template's backoff; null: use the template's. */
  backoff: Backoff | null;
  runAt: Date | null;
  nextAttemptAt: Date | null;
  timeoutMs: number;
  idempotencyKey: string | null;
  trigger: TaskTrigger;
  scheduledFor: Date | null;
  workerId: string | null;
  createdAt: Date;
  queuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
  /**
   * Where the relay published the current attempt's dispatch (partition and offset of its queue's
   * topic); null until sent. A QUEUED task whose offset fell below the partition's log start was
   * deleted by retention unread and is dispatched again.
   */
  dispatchPartition: number | null;
  dispatchOffset: number | null;
  /** 0–9, higher is admitted first. */
  priority: number;
  /** Tasks sharing a key in a queue are limited by their template's concurrency_limit; null: none. */
  concurrencyKey: string | null;
}

/** Admission settings of one queue (table `queues`); a queue without a row is unlimited and running. */
export interface QueueRecord {
  name: string;
  /** QUEUED + RUNNING tasks allowed at once; null: unlimited. */
  maxInFlight: number | null;
  paused: boolean;
  updatedAt: Date;
}

/** The statuses GET /queues counts (admission's in-flight pair is QUEUED + RUNNING). */
export type QueueStatus = 'WAITING' | 'QUEUED' | 'RUNNING';

/** Tasks of one queue (and concurrency key, null for unkeyed) in one status. */
export interface QueueCount {
  queue: string;
  status: TaskStatus;
  concurrencyKey: string | null;
  n: number;
}

/** What admission at creation needs of one concurrency key of a queue. */
export interface KeyAdmission {
  concurrencyKey: string;
  /** Its QUEUED + RUNNING tasks. */
  inFlight: number;
  /** The highest priority among its WAITING tasks; null: none waits. */
  topWaiting: number | null;
}

/** A concurrency key (null: unkeyed tasks) and priority level with WAITING tasks in a queue. */
export interface WaitingKey {
  concurrencyKey: string | null;
  priority: number;
  /** Oldest waiting id of the key at this priority (the key's oldest overall orders keys). */
  firstId: string;
}

/** A WAITING task as admission's round-robin needs it (the full row is read once chosen). */
export type WaitingHead = Pick<TaskRecord, 'id' | 'concurrencyKey' | 'templateId'>;

/** How many WAITING heads to read of one concurrency key (null: unkeyed tasks). */
export interface HeadsWanted {
  concurrencyKey: string | null;
  limit: number;
}

export interface TaskEventRecord {
  /** Assigned by the store (auto-increment); ignored on insert. */
  id?: number;
  taskId: string;
  attempt: number;
  type: TaskEventType;
  at: Date;
  workerId: string | null;
  data: unknown;
}

/** The filters of GET /events/stream; an absent or empty list matches every value. */
export interface EventFilter {
  taskIds?: readonly string[];
  templateIds?: readonly string[];
  queues?: readonly string[];
  types?: readonly TaskEventType[];
  /** Only ids ≤ upTo. */
  upTo?: number;
  /** Only these ids (the live poller re-reading ids that were not yet committed). */
  ids?: readonly number[];
}

/** An event with the template and queue of its task (null if the task row is gone). */
export interface StreamEventRecord extends TaskEventRecord {
  id: number;
  templateId: string | null;
  queue: string | null;
}

export interface OutboxRecord {
  /** Assigned by the store (auto-increment, publish order); ignored on insert. */
  id?: number;
  topic: string;
  /** Kafka message key (the task id). */
  key: string;
  /** The message value, already serialised JSON. */
  payload: string;
  createdAt: Date;
  sentAt?: Date | null;
}

/** A message indexed from a `<topic>.dlq` topic; (topic, partition, offset) is unique. */
export interface DeadLetterRecord {
  /** Assigned by the store (auto-increment, index order); ignored on insert. */
  id?: number;
  topic: string;
  partition: number;
  offset: number;
  /** The dead letter's Kafka timestamp. */
  time: Date;
  indexedAt: Date;
  /** x-dlq-reason; the x-dlq-* headers may be absent on a message another producer wrote. */
  reason: string | null;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: number | null;
  key: string | null;
  /** Every header as text. */
  headers: Record<string, string>;
  /** The value as UTF-8 text, cut at the index's size cap (null: no value). */
  value: string | null;
  /** The value's size in bytes as published. */
  valueBytes: number;
  /** value holds only the first part of the message (replay then needs an edited body). */
  truncated: boolean;
}

/** One replay of a dead letter: its body went to `targetTopic` through the outbox. */
export interface DlqReplayRecord {
  id?: number;
  deadLetterId: number;
  at: Date;
  /** Free text the caller gave (not authenticated). */
  by: string | null;
  targetTopic: string;
  /** The replayed body differed from the dead letter's. */
  edited: boolean;
}

export interface DeadLetterFilter {
  topic?: string;
  sourceTopic?: string;
  /** Substring of the reason. */
  reason?: string;
  /** Only ids strictly below (newest first paging). */
  beforeId?: number;
  limit: number;
}

/** Which finished tasks one purge batch may delete (see purgeFinishedTasks). */
export interface PurgeScope {
  /** Only tasks finished before this. */
  finishedBefore: Date;
  /** Only this template's tasks (its retention_days override). */
  templateId?: string;
  /** Tasks of these templates are left out (their own override applies). */
  exceptTemplateIds?: readonly string[];
  limit: number;
}

/** Which finished workflows one purge unit may delete (see purgeFinishedWorkflows). */
export interface WorkflowPurgeScope {
  /** Only workflows finished before this. */
  finishedBefore: Date;
  /** Only ids below this: ids carry their creation time, so the read is a range of the index. */
  idBefore: string;
  /** Step tasks per unit: whole workflows up to this many steps (at least one workflow). */
  limit: number;
}

export interface WorkerRecord {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  executors: string[];
  concurrency: number;
  running: number;
  version: string;
  startedAt: Date;
  lastSeen: Date;
  /** Set when the worker announced its shutdown. */
  stoppedAt: Date | null;
}

/** A workflow template's definition, kept as the wire JSON of POST /workflows (steps, on_failure). */
export interface WorkflowSpec {
  steps: Array<Record<string, unknown>>;
  on_failure?: WorkflowOnFailure;
}

export type WorkflowStatus = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export type WorkflowOnFailure = 'fail_fast' | 'continue';

/**
 * A workflow (a DAG of tasks). Its steps are task rows plus one workflow_steps row each; the
 * counters are kept in the unit of work that ends each step, so knowing whether the workflow is
 * done never means reading all of its steps.
 */
export interface WorkflowRecord {
  id: string;
  name: string;
  status: WorkflowStatus;
  onFailure: WorkflowOnFailure;
  /** The workflow template it was started from (POST /workflows with workflow_template_id, or cron). */
  workflowTemplateId: string | null;
  /** The cron fire time that started it; unique per template (exactly one workflow per fire). */
  scheduledFor: Date | null;
  stepsTotal: number;
  /** Steps in a terminal status (COMPLETED, FAILED, TIMED_OUT, CANCELED). */
  stepsFinished: number;
  stepsCompleted: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** One step of a workflow: its task and its edges. */
export interface WorkflowStepRecord {
  taskId: string;
  workflowId: string;
  stepKey: string;
  /** Order of the step in the request. */
  position: number;
  dependsOn: string[];
  /** The reverse edges: keys of the steps that depend on this one. */
  dependants: string[];
  /** Dependencies not COMPLETED yet; the step is runnable at 0. */
  depsRemaining: number;
}

export interface WorkflowFilter {
  status?: WorkflowStatus[];
  name?: string;
  workflowTemplateId?: string;
  beforeId?: string;
  limit: number;
}

export type WorkflowPatch = Partial<Omit<WorkflowRecord, 'id' | 'createdAt'>>;

export type TaskPatch = Partial<Omit<TaskRecord, 'id' | 'templateId' | 'createdAt'>>;
export type TemplatePatch = Partial<Omit<TemplateRecord, 'id' | 'createdAt'>>;

export interface TaskFilter {
  status?: TaskStatus[];
  templateId?: string;
  queue?: string;
  createdFrom?: Date;
  /** Exclusive upper bound. */
  createdTo?: Date;
  /** Return tasks whose id is strictly below (desc) this id; ids sort by creation. */
  beforeId?: string;
  /** Return tasks whose id is at or above this id (the domain's bound for a created_at range). */
  fromId?: string;
  limit: number;
}

export interface TaskStats {
  byQueueStatus: Array<{ queue: string; status: TaskStatus; n: number }>;
  /** `minute`: epoch ms of the minute's start (UTC). */
  finishedPerMinute: Array<{ minute: number; status: 'COMPLETED' | 'FAILED'; n: number }>;
}

/** A compare-and-set guard: the update applies only if the row still matches. */
export interface TaskGuard {
  status?: readonly TaskStatus[];
  attempt?: number;
}

/** One compare-and-set of a batch (`updateTasks`): `updateTask`'s arguments. */
export interface TaskUpdate {
  id: string;
  patch: TaskPatch;
  guard?: TaskGuard;
}

/**
 * Operations available both in and outside a unit of work. Outside one, each call commits on
 * its own. JSON columns are plain values here in both dialects; times are Dates (UTC).
 */
export interface StoreOps {
  // templates
  insertTemplate(t: TemplateRecord): Promise<void>;
  /** Returns false if no live template has this id. */
  updateTemplate(id: string, patch: TemplatePatch): Promise<boolean>;
  /** A live (not deleted) template, or null. */
  getTemplate(id: string): Promise<TemplateRecord | null>;
  /** Like getTemplate, but finds deleted templates too (for tasks whose template was deleted). */
  getTemplateIncludingDeleted(id: string): Promise<TemplateRecord | null>;
  getTemplateByName(name: string): Promise<TemplateRecord | null>;
  /** By id, deleted ones included (their tasks still point at them); any order. */
  getTemplates(ids: readonly string[]): Promise<TemplateRecord[]>;
  listTemplates(opts?: { cronOnly?: boolean }): Promise<TemplateRecord[]>;
  /** Soft delete; frees the name. Returns false if no live template has this id. */
  deleteTemplate(id: string, at: Date): Promise<boolean>;
  /**
   * Newest updatedAt over all templates, deleted ones included (cheap change detection). Opaque:
   * compare for equality only (it also changes when a template is inserted with an older updatedAt).
   */
  templatesVersion(): Promise<string>;

  // tasks
  /** Inserts all rows; a duplicate idempotency_key or (template_id, scheduled_for) throws UniqueViolation. */
  insertTasks(tasks: readonly TaskRecord[]): Promise<void>;
  /** Inserts one row unless it violates a unique key; returns whether it was inserted. */
  insertTaskIfAbsent(task: TaskRecord): Promise<boolean>;
  getTask(id: string): Promise<TaskRecord | null>;
  getTasks(ids: readonly string[]): Promise<TaskRecord[]>;
  getTasksByIdempotencyKeys(keys: readonly string[]): Promise<TaskRecord[]>;
  /** Applies the patch if the guard matches; returns whether a row changed. */
  updateTask(id: string, patch: TaskPatch, guard?: TaskGuard): Promise<boolean>;
  /**
   * Many `updateTask`s at once, all or none (result handling's batch): each patch applies only if
   * its task's row, as it is when written (not as read earlier), matches its guard. Patches may set
   * different columns. Returns the ids whose guard held (an empty patch writes nothing but counts,
   * as in `updateTask`). One update per task: an id given twice is refused.
   */
  updateTasks(updates: readonly TaskUpdate[]): Promise<Set<string>>;
  /**
   * Admission's batch of `updateTask`s: moves these tasks from WAITING to QUEUED at `at` (queued_at
   * and updated_at set; next_attempt_at and the dispatch position cleared), each only if it is still
   * WAITING at the attempt given (compare-and-set). Returns the ids it moved.
   */
  queueWaitingTasks(tasks: readonly Pick<TaskRecord, 'id' | 'attempt'>[], at: Date): Promise<Set<string>>;
  /** Newest first (id desc). */
  listTasks(filter: TaskFilter): Promise<TaskRecord[]>;
  /** PENDING with runAt <= now, and RETRYING with nextAttemptAt <= now, oldest due first. */
  listDueTasks(now: Date, limit: number): Promise<TaskRecord[]>;
  /** Earliest runAt/nextAttemptAt among PENDING/RETRYING tasks, or null. */
  nextDueAt(): Promise<Date | null>;
  /** RUNNING tasks with startedAt + timeoutMs < now - graceMs, oldest start first (QUEUED ones may wait in a backlog). */
  listOverdueTasks(now: Date, graceMs: number, limit: number): Promise<TaskRecord[]>;
  /**
   * QUEUED tasks of `queue` whose dispatch the relay sent to `partition` at an offset below
   * `belowOffset` (the partition's log start: retention deleted it), queued before `queuedBefore`,
   * oldest first.
   */
  listLostDispatches(q: {
    queue: string;
    partition: number;
    belowOffset: number;
    queuedBefore: Date;
    limit: number;
  }): Promise<TaskRecord[]>;
  /** Records where each task's dispatch was published, on those still QUEUED (one statement per run of rows). */
  recordDispatchOffsets(
    rows: ReadonlyArray<{ taskId: string; partition: number; offset: number }>,
  ): Promise<void>;
  /** Whether the template has a task in PENDING, QUEUED, RUNNING or RETRYING. */
  hasActiveTask(templateId: string): Promise<boolean>;
  /** Latest scheduledFor of the template's cron tasks, or null. */
  lastScheduledFor(templateId: string): Promise<Date | null>;

  // events
  insertEvents(events: readonly TaskEventRecord[]): Promise<void>;
  /** Oldest first. */
  listEvents(taskId: string): Promise<TaskEventRecord[]>;
  /**
   * Events with id > `afterId` (and ≤ `filter.upTo`, or among `filter.ids`) matching `filter`, in
   * id order, at most `limit`, each with its task's template and queue (the live stream's filters).
   */
  listEventsAfter(afterId: number, limit: number, filter?: EventFilter): Promise<StreamEventRecord[]>;
  /** The highest event id, 0 when there is none. */
  maxEventId(): Promise<number>;

  // dashboard
  /**
   * Task counts by queue and status, and tasks finished COMPLETED or FAILED per minute since
   * `since` (the overview page); each an index-only read (tasks_queue_status_idx, tasks_finished_status_idx).
   */
  taskStats(since: Date): Promise<TaskStats>;

  // outbox
  insertOutbox(rows: readonly OutboxRecord[]): Promise<void>;
  /**
   * Unsent rows in id order; with `afterId`, only those with a larger id (the relay's cursor past
   * rows it has published but not marked sent yet).
   */
  listUnsentOutbox(limit: number, afterId?: number): Promise<OutboxRecord[]>;
  /** How many rows wait to be published (the outbox backlog metric, read at scrape time). */
  countUnsentOutbox(): Promise<number>;
  markOutboxSent(ids: readonly number[], at: Date): Promise<void>;
  /** Deletes up to `limit` (default: all) rows sent before `before`; returns how many. */
  pruneOutbox(before: Date, limit?: number): Promise<number>;

  // dead letters
  /** Inserts the rows whose (topic, partition, offset) is not there yet; returns how many were new. */
  insertDeadLetters(rows: readonly DeadLetterRecord[]): Promise<number>;
  /** Newest first (id desc). */
  listDeadLetters(filter: DeadLetterFilter): Promise<DeadLetterRecord[]>;
  getDeadLetter(topic: string, partition: number, offset: number): Promise<DeadLetterRecord | null>;
  insertDlqReplays(rows: readonly DlqReplayRecord[]): Promise<void>;
  /** The replays of these dead letters, oldest first. */
  listDlqReplays(deadLetterIds: readonly number[]): Promise<DlqReplayRecord[]>;
  /** Deletes up to `limit` dead letters (and their replays) indexed before `before`; returns how many. */
  pruneDeadLetters(before: Date, limit: number): Promise<number>;

  // task retention
  /**
   * Deletes up to `scope.limit` tasks in a terminal status (COMPLETED, FAILED, TIMED_OUT, CANCELED)
   * finished before the cutoff, and their events. Never a task in another status, whatever else
   * matches, nor a workflow step (its workflow still reads it). Returns how many tasks and events were deleted.
   */
  purgeFinishedTasks(scope: PurgeScope): Promise<{ tasks: number; events: number }>;
  /**
   * Deletes whole workflows (COMPLETED, FAILED, CANCELED) finished before the cutoff: the workflow,
   * its step rows, its step tasks and their events. A workflow with a step not yet in a terminal
   * status (a step of a cancelled workflow still stopping) stays for a later pass. `more`: there may
   * be more to delete now.
   */
  purgeFinishedWorkflows(
    scope: WorkflowPurgeScope,
  ): Promise<{ workflows: number; tasks: number; events: number; more: boolean }>;

  // workers
  upsertWorkers(workers: readonly WorkerRecord[]): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;

  // workflows
  /** Inserts the workflow and its step rows (the step tasks are inserted with insertTasks). */
  /**
   * Inserts the workflow and its step rows (the step tasks are inserted with insertTasks), unless
   * one with the same (workflow_template_id, scheduled_for) exists: then nothing, and false.
   */
  insertWorkflow(w: WorkflowRecord, steps: readonly WorkflowStepRecord[]): Promise<boolean>;
  getWorkflow(id: string): Promise<WorkflowRecord | null>;
  /** Newest first (id desc). */
  listWorkflows(filter: WorkflowFilter): Promise<WorkflowRecord[]>;
  /** Applies the patch if the workflow's status is one of `guard.status` (any when absent); returns whether it changed. */
  updateWorkflow(
    id: string,
    patch: WorkflowPatch,
    guard?: { status?: readonly WorkflowStatus[] },
  ): Promise<boolean>;
  /**
   * Adds to the workflow's finished/completed counters in one UPDATE (atomic across replicas: the
   * row lock orders concurrent units of work) and returns the row as it now is.
   */
  addWorkflowProgress(
    id: string,
    delta: { finished: number; completed: number },
    at: Date,
  ): Promise<WorkflowRecord | null>;
  /** Every step of the workflow, in position order. */
  listWorkflowSteps(workflowId: string): Promise<WorkflowStepRecord[]>;
  /** The steps of these tasks (tasks that are no step are absent). */
  getStepsOfTasks(taskIds: readonly string[]): Promise<WorkflowStepRecord[]>;
  /** The steps of the workflow with these keys. */
  getWorkflowStepsByKey(workflowId: string, keys: readonly string[]): Promise<WorkflowStepRecord[]>;
  /** deps_remaining - 1 on each of the named steps (one dependency of theirs COMPLETED). */
  releaseDependants(workflowId: string, keys: readonly string[]): Promise<void>;
  setDepsRemaining(taskId: string, depsRemaining: number): Promise<void>;
  // queues (admission)
  /** Settings of one queue (null: no row, i.e. unlimited and running); a read by primary key. */
  getQueueSettings(name: string): Promise<QueueRecord | null>;
  /** Settings of these queues (all rows when `names` is absent), by name. */
  listQueueSettings(names?: readonly string[]): Promise<QueueRecord[]>;
  /** Inserts or replaces the given fields of a queue's settings row. */
  upsertQueueSettings(
    name: string,
    patch: Partial<Pick<QueueRecord, 'maxInFlight' | 'paused'>>,
    at: Date,
  ): Promise<QueueRecord>;
  /**
   * Locks the settings row of `queue` for the rest of the unit of work (creating it, unlimited and
   * running, if absent) and returns it: the serialisation point of admission to the queue across
   * replicas. The admission reads that depend on it come after it in the unit of work (MySQL units
   * run READ COMMITTED, so those reads see every admission committed before the lock was granted,
   * whatever the unit read before: a result batch takes it after its own reads and writes).
   */
  lockQueue(queue: string, at: Date): Promise<QueueRecord>;
  /** WAITING, QUEUED and RUNNING counts per queue and key (`queue` absent: every queue). */
  countQueueTasks(queue?: string, statuses?: readonly QueueStatus[]): Promise<QueueCount[]>;
  /** Distinct queue names of live templates and of tasks not yet finished. */
  listKnownQueues(): Promise<string[]>;
  /** Templates whose queue is `queue`, deleted ones included (their tasks may still wait). */
  listTemplatesOfQueue(queue: string): Promise<TemplateRecord[]>;
  /**
   * The concurrency keys with WAITING tasks in `queue` (null key: unkeyed tasks), one row per key
   * and priority level, leaving out tasks of the templates `exceptTemplates` (paused ones).
   */
  listWaitingKeys(queue: string, exceptTemplates?: readonly string[]): Promise<WaitingKey[]>;
  /**
   * The oldest WAITING tasks of `queue` at `priority`, up to `limit` of each key asked for, but
   * `exceptTemplates`', in one read (one bounded index range per key), oldest first.
   */
  listWaitingHeads(
    queue: string,
    priority: number,
    wanted: readonly HeadsWanted[],
    exceptTemplates?: readonly string[],
  ): Promise<WaitingHead[]>;
  /**
   * Whether `queue` has a WAITING task (at `minPriority` or above when given; without it one
   * index entry, with it the queue's waiting entries until one qualifies).
   */
  hasWaiting(queue: string, minPriority?: number): Promise<boolean>;
  /**
   * For each of `keys` of `queue`: its in-flight count and the top priority of its WAITING tasks
   * (admission at creation, after lockQueue), in one read of two bounded index ranges per key.
   * One row per distinct key asked for, in no particular order.
   */
  keyAdmission(queue: string, keys: readonly string[]): Promise<KeyAdmission[]>;
  /** Queues that have WAITING tasks (the periodic admission sweep). */
  listWaitingQueues(): Promise<string[]>;

  // leases (one holder at a time among replicas sharing the database, e.g. the outbox relay)
  /**
   * Takes or renews the lease `name` for `owner` until now + ttlMs. Returns true if `owner` now
   * holds it (it was free, expired before `now`, or already `owner`'s), false if another owner
   * holds an unexpired lease. Atomic across connections and processes.
   */
  acquireLease(name: string, owner: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `owner` holds it (expired or not); otherwise changes nothing. */
  releaseLease(name: string, owner: string): Promise<void>;
}

export interface Store extends StoreOps {
  readonly dialect: 'sqlite' | 'mysql';
  /**
   * Runs `fn` in one transaction: all of its writes commit together or not at all. Units of work
   * on one store never interleave on SQLite (one writer); on MySQL they run concurrently.
   */
  unitOfWork<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T>;
  /** Applies pending migrations (drizzle/<dialect>). */
  migrate(): Promise<void>;
  /** Throws if the database is unreachable or not migrated. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by a store when a unique key rejects a write; `constraint` names the key. */
export class UniqueViolation extends Error {
  constructor(
    readonly constraint: 'template_name' | 'task_idempotency_key' | 'task_schedule' | 'other',
    cause?: unknown,
  ) {
    super(`unique constraint violated: ${constraint}`, { cause });
    this.name = 'UniqueViolation';
  }
}

/**
 * Why a store cannot serve right now: the database is unreachable (refused, lost, gone), busy
 * (SQLite lock held past the busy timeout), saturated (too many operations waiting for a
 * connection or the writer lock), closed (shutting down), or a MySQL deadlock / lock-wait timeout
 * that persisted through the adapter's retries.
 */
export type UnavailableReason = 'unreachable' | 'busy' | 'saturated' | 'closed' | 'deadlock' | 'lock_timeout';

/** Seconds a client should wait before retrying, per reason (sent as Retry-After with the 503). */
export const RETRY_AFTER_S: Readonly<Record<UnavailableReason, number>> = {
  unreachable: 5,
  closed: 5,
  busy: 1,
  saturated: 1,
  deadlock: 1,
  lock_timeout: 1,
};

/**
 * Thrown by a store when the database cannot serve the call now but may later; the caller may
 * retry (HTTP renders it as 503 `unavailable` with Retry-After). `message` never holds a password.
 */
export class StoreUnavailable extends Error {
  readonly retryAfterS: number;
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'StoreUnavailable';
    this.retryAfterS = RETRY_AFTER_S[reason];
  }
}
