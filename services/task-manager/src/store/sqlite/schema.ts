// SQLite (better-sqlite3) tables of the store; drizzle-kit generates drizzle/sqlite from this file.
// Property names equal the Store record fields, so a selected row is a record with no mapping.
// Only type imports here: drizzle-kit loads this file on its own.
// The same tables stand column for column in mysql/schema.ts (`duplicates` pairs the two files): drizzle
// has no dialect-neutral table builder, each column's type is what differs, and drizzle-kit reads
// each dialect's file alone. types.ts keeps them in step: ops.ts return selected rows as its
// records, so a column missing on either side fails the build.
import { sql } from 'drizzle-orm';
import { customType, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import type {
  Backoff,
  TaskEventRecord,
  TaskRecord,
  TemplateRecord,
  WorkflowOnFailure,
  WorkflowSpec,
  WorkflowStatus,
} from '../types.js';

/** JSON kept as text; parsed and stringified here so the rest of the code sees plain values. */
const json = <T>(name: string) =>
  customType<{ data: T; driverData: string }>({
    dataType: () => 'text',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => JSON.parse(value) as T,
  })(name);

/** Epoch milliseconds (UTC) ↔ Date. */
const time = (name: string) => integer(name, { mode: 'timestamp_ms' });

export const templates = sqliteTable(
  'templates',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** = name while live, NULL once soft-deleted: the unique index then frees the name. */
    nameKey: text('name_key'),
    description: text('description'),
    executor: text('executor').notNull(),
    queue: text('queue').notNull().default('default'),
    paramSchema: json<Record<string, unknown>>('param_schema'),
    resultSchema: json<Record<string, unknown>>('result_schema'),
    defaultParams: json<Record<string, unknown>>('default_params'),
    cronExpression: text('cron_expression'),
    cronTimezone: text('cron_timezone'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull(),
    maxAttempts: integer('max_attempts').notNull(),
    backoff: json<Backoff>('backoff').notNull(),
    timeoutMs: integer('timeout_ms').notNull(),
    missedFirePolicy: text('missed_fire_policy').$type<TemplateRecord['missedFirePolicy']>().notNull(),
    overlapPolicy: text('overlap_policy').$type<TemplateRecord['overlapPolicy']>().notNull(),
    workflow: json<WorkflowSpec>('workflow'),
    retentionDays: integer('retention_days'),
    priority: integer('priority').notNull().default(5),
    paused: integer('paused', { mode: 'boolean' }).notNull().default(false),
    concurrencyKey: text('concurrency_key'),
    concurrencyLimit: integer('concurrency_limit'),
    deletedAt: time('deleted_at'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('templates_name_key_uq').on(t.nameKey),
    index('templates_updated_at_idx').on(t.updatedAt),
  ],
);

// Status-specific partial indexes hold only the rows in that status, so a status change touches
// them only when a row enters or leaves, and terminal rows cost nothing. Queries must spell the
// status as the same literal (not a bound parameter) for SQLite to pick them.
const inStatus = (name: string, column: AnySQLiteColumn, status: TaskRecord['status']) =>
  index(name)
    .on(column)
    .where(sql.raw(`status = '${status}'`));
export const tasks = sqliteTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    templateId: text('template_id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    queue: text('queue').notNull().default('default'),
    params: json<unknown>('params'),
    status: text('status').$type<TaskRecord['status']>().notNull(),
    result: json<unknown>('result'),
    error: json<NonNullable<TaskRecord['error']>>('error'),
    attempt: integer('attempt').notNull(),
    maxAttempts: integer('max_attempts').notNull(),
    backoff: json<Backoff>('backoff'),
    runAt: time('run_at'),
    nextAttemptAt: time('next_attempt_at'),
    timeoutMs: integer('timeout_ms').notNull(),
    idempotencyKey: text('idempotency_key'),
    trigger: text('trigger').$type<TaskRecord['trigger']>().notNull(),
    scheduledFor: time('scheduled_for'),
    workerId: text('worker_id'),
    createdAt: time('created_at').notNull(),
    queuedAt: time('queued_at'),
    startedAt: time('started_at'),
    finishedAt: time('finished_at'),
    updatedAt: time('updated_at').notNull(),
    dispatchPartition: integer('dispatch_partition'),
    dispatchOffset: integer('dispatch_offset'),
    priority: integer('priority').notNull().default(5),
    concurrencyKey: text('concurrency_key'),
  },
  (t) => [
    // Unique only where set: most tasks have neither key, and a NULL entry would still be written
    // into each index on every insert. A read names the column (`IN (…)`, `IS NOT NULL`), which is
    // what lets SQLite use a partial index.
    uniqueIndex('tasks_idempotency_key_uq')
      .on(t.idempotencyKey)
      .where(sql`idempotency_key IS NOT NULL`),
    uniqueIndex('tasks_schedule_uq')
      .on(t.templateId, t.scheduledFor)
      .where(sql`scheduled_for IS NOT NULL`),
    index('tasks_template_id_idx').on(t.templateId, t.id),
    index('tasks_status_id_idx').on(t.status, t.id),
    // The dashboard: a queue's tasks newest first. Counts by queue and status read
    // tasks_admission_idx (its prefix); a created_at range is an id range (domain/ids.ts).
    index('tasks_queue_id_idx').on(t.queue, t.id),
    inStatus('tasks_pending_run_at_idx', t.runAt, 'PENDING'),
    inStatus('tasks_retrying_next_attempt_idx', t.nextAttemptAt, 'RETRYING'),
    inStatus('tasks_queued_at_idx', t.queuedAt, 'QUEUED'),
    inStatus('tasks_running_started_at_idx', t.startedAt, 'RUNNING'),
    // Finished tasks by finish time, with their status: the retention purge's range and the
    // dashboard's finished per minute (covering). Only rows with a finish time are in it (terminal
    // ones, and a retry-to-be until it is queued again), so a row enters once, when it finishes.
    index('tasks_finished_status_idx')
      .on(t.finishedAt, t.status)
      .where(sql`finished_at IS NOT NULL`),
    index('tasks_active_template_idx')
      .on(t.templateId)
      .where(sql`status IN ('PENDING', 'WAITING', 'QUEUED', 'RUNNING', 'RETRYING')`),
    // Admission: in-flight counts per queue and key, waiting heads per queue, key and priority.
    index('tasks_admission_idx').on(t.queue, t.status, t.concurrencyKey, t.priority, t.id),
  ],
);

// id is the rowid, so an index on task_id is already ordered by (task_id, id). Plain rowids stay
// monotonic without AUTOINCREMENT's bookkeeping because the retention purge never deletes the
// newest event (a new rowid is max + 1).
export const taskEvents = sqliteTable(
  'task_events',
  {
    id: integer('id').primaryKey(),
    taskId: text('task_id').notNull(),
    attempt: integer('attempt').notNull(),
    type: text('type').$type<TaskEventRecord['type']>().notNull(),
    at: time('at').notNull(),
    workerId: text('worker_id'),
    data: json<unknown>('data'),
  },
  (t) => [index('task_events_task_id_idx').on(t.taskId)],
);

// (sent_at) is (sent_at, rowid): unsent rows (NULL) come first, in id order; prune is a range.
// AUTOINCREMENT: ids never go back even after pruning empties the table.
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    topic: text('topic').notNull(),
    key: text('key').notNull(),
    payload: text('payload').notNull(),
    createdAt: time('created_at').notNull(),
    sentAt: time('sent_at'),
  },
  (t) => [index('outbox_sent_at_idx').on(t.sentAt)],
);

export const workers = sqliteTable('workers', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  queues: json<string[]>('queues').notNull(),
  executors: json<string[]>('executors').notNull(),
  concurrency: integer('concurrency').notNull(),
  running: integer('running').notNull(),
  version: text('version').notNull(),
  startedAt: time('started_at').notNull(),
  lastSeen: time('last_seen').notNull(),
  stoppedAt: time('stopped_at'),
});

// One row per lease (e.g. the outbox relay): which replica holds it and until when. A holder
// renews before expires_at; anyone may take it over once it has passed.
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  owner: text('owner').notNull(),
  expiresAt: time('expires_at').notNull(),
});

// A workflow and its counters (see WorkflowRecord). (workflow_template_id, scheduled_for) is the
// exactly-once key of cron-started workflows, as tasks_schedule_uq is for tasks.
export const workflows = sqliteTable(
  'workflows',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    status: text('status').$type<WorkflowStatus>().notNull(),
    onFailure: text('on_failure').$type<WorkflowOnFailure>().notNull(),
    workflowTemplateId: text('workflow_template_id'),
    scheduledFor: time('scheduled_for'),
    stepsTotal: integer('steps_total').notNull(),
    stepsFinished: integer('steps_finished').notNull(),
    stepsCompleted: integer('steps_completed').notNull(),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    finishedAt: time('finished_at'),
  },
  (t) => [
    uniqueIndex('workflows_schedule_uq').on(t.workflowTemplateId, t.scheduledFor),
    index('workflows_status_id_idx').on(t.status, t.id),
    index('workflows_name_id_idx').on(t.name, t.id),
  ],
);

// One row per step: its task, key and edges both ways (dependants are what a finished step reads).
export const workflowSteps = sqliteTable(
  'workflow_steps',
  {
    taskId: text('task_id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    stepKey: text('step_key').notNull(),
    position: integer('position').notNull(),
    dependsOn: json<string[]>('depends_on').notNull(),
    dependants: json<string[]>('dependants').notNull(),
    depsRemaining: integer('deps_remaining').notNull(),
  },
  (t) => [
    uniqueIndex('workflow_steps_key_uq').on(t.workflowId, t.stepKey),
    index('workflow_steps_position_idx').on(t.workflowId, t.position),
  ],
);

// Messages of the `<topic>.dlq` topics, indexed by the manager (kafka/dlq-indexer.ts): the Kafka
// coordinates are unique, so a batch indexed twice (crash before the offset commit) adds nothing.
export const deadLetters = sqliteTable(
  'dead_letters',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    offset: integer('offset').notNull(),
    time: time('time').notNull(),
    indexedAt: time('indexed_at').notNull(),
    reason: text('reason'),
    sourceTopic: text('source_topic'),
    sourcePartition: integer('source_partition'),
    sourceOffset: integer('source_offset'),
    key: text('key'),
    headers: json<Record<string, string>>('headers').notNull(),
    value: text('value'),
    valueBytes: integer('value_bytes').notNull(),
    truncated: integer('truncated', { mode: 'boolean' }).notNull(),
  },
  (t) => [
    uniqueIndex('dead_letters_coordinates_uq').on(t.topic, t.partition, t.offset),
    index('dead_letters_topic_idx').on(t.topic, t.id),
    index('dead_letters_source_topic_idx').on(t.sourceTopic, t.id),
    index('dead_letters_indexed_at_idx').on(t.indexedAt),
  ],
);

export const dlqReplays = sqliteTable(
  'dlq_replays',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deadLetterId: integer('dead_letter_id').notNull(),
    at: time('at').notNull(),
    by: text('by'),
    targetTopic: text('target_topic').notNull(),
    edited: integer('edited', { mode: 'boolean' }).notNull(),
  },
  (t) => [index('dlq_replays_dead_letter_idx').on(t.deadLetterId)],
);
// Per-queue admission settings (GET/PUT /queues): a row exists once a queue was configured or
// admitted keyed tasks; its row is also the lock that serialises admission to the queue.
export const queues = sqliteTable('queues', {
  name: text('name').primaryKey(),
  /** QUEUED + RUNNING tasks allowed at once; null: unlimited. */
  maxInFlight: integer('max_in_flight'),
  paused: integer('paused', { mode: 'boolean' }).notNull().default(false),
  updatedAt: time('updated_at').notNull(),
});
