// MySQL/MariaDB (mysql2) tables of the store; drizzle-kit generates drizzle/mysql from this file.
// Property names equal the Store record fields, so a selected row is a record with no mapping.
// Only type imports here: drizzle-kit loads this file on its own.
// The same tables stand column for column in sqlite/schema.ts (`duplicates` pairs the two files): drizzle
// has no dialect-neutral table builder, each column's type is what differs, and drizzle-kit reads
// each dialect's file alone. types.ts keeps them in step: ops.ts return selected rows as its
// records, so a column missing on either side fails the build.
import {
  bigint,
  boolean,
  customType,
  datetime,
  index,
  int,
  mediumtext,
  mysqlTable,
  text,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/mysql-core';
import type {
  Backoff,
  TaskEventRecord,
  TaskRecord,
  TemplateRecord,
  WorkflowOnFailure,
  WorkflowSpec,
  WorkflowStatus,
} from '../types.js';

/**
 * A `json` column. The pool runs with `jsonStrings: true`, so MySQL 8 (native JSON) and MariaDB
 * (JSON = LONGTEXT) both hand back text, parsed exactly once here.
 */
const json = <T>(name: string) =>
  customType<{ data: T; driverData: string }>({
    dataType: () => 'json',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => (typeof value === 'string' ? JSON.parse(value) : value) as T,
  })(name);

/** DATETIME(3), always UTC: drizzle writes and reads it as a 'YYYY-MM-DD hh:mm:ss.sss' UTC string. */
const time = (name: string) => datetime(name, { mode: 'date', fsp: 3 });
/** ULIDs. */
const ulid = (name: string) => varchar(name, { length: 26 });
const name255 = (name: string) => varchar(name, { length: 255 });

export const templates = mysqlTable(
  'templates',
  {
    id: ulid('id').primaryKey(),
    name: name255('name').notNull(),
    /** = name while live, NULL once soft-deleted: the unique index then frees the name. */
    nameKey: name255('name_key'),
    description: text('description'),
    executor: name255('executor').notNull(),
    queue: name255('queue').notNull().default('default'),
    paramSchema: json<Record<string, unknown>>('param_schema'),
    resultSchema: json<Record<string, unknown>>('result_schema'),
    defaultParams: json<Record<string, unknown>>('default_params'),
    cronExpression: name255('cron_expression'),
    cronTimezone: varchar('cron_timezone', { length: 64 }),
    enabled: boolean('enabled').notNull(),
    maxAttempts: int('max_attempts').notNull(),
    backoff: json<Backoff>('backoff').notNull(),
    timeoutMs: bigint('timeout_ms', { mode: 'number' }).notNull(),
    missedFirePolicy: varchar('missed_fire_policy', { length: 16 })
      .$type<TemplateRecord['missedFirePolicy']>()
      .notNull(),
    overlapPolicy: varchar('overlap_policy', { length: 16 })
      .$type<TemplateRecord['overlapPolicy']>()
      .notNull(),
    workflow: json<WorkflowSpec>('workflow'),
    retentionDays: int('retention_days'),
    priority: int('priority').notNull().default(5),
    paused: boolean('paused').notNull().default(false),
    concurrencyKey: name255('concurrency_key'),
    concurrencyLimit: int('concurrency_limit'),
    deletedAt: time('deleted_at'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('templates_name_key_uq').on(t.nameKey),
    index('templates_updated_at_idx').on(t.updatedAt),
  ],
);

// InnoDB secondary indexes end with the primary key, so (status, run_at) is (status, run_at, id).
export const tasks = mysqlTable(
  'tasks',
  {
    id: ulid('id').primaryKey(),
    templateId: ulid('template_id').notNull(),
    name: name255('name').notNull(),
    description: text('description'),
    queue: name255('queue').notNull().default('default'),
    params: json<unknown>('params'),
    status: varchar('status', { length: 16 }).$type<TaskRecord['status']>().notNull(),
    result: json<unknown>('result'),
    error: json<NonNullable<TaskRecord['error']>>('error'),
    attempt: int('attempt').notNull(),
    maxAttempts: int('max_attempts').notNull(),
    backoff: json<Backoff>('backoff'),
    runAt: time('run_at'),
    nextAttemptAt: time('next_attempt_at'),
    timeoutMs: bigint('timeout_ms', { mode: 'number' }).notNull(),
    idempotencyKey: name255('idempotency_key'),
    trigger: varchar('trigger', { length: 8 }).$type<TaskRecord['trigger']>().notNull(),
    scheduledFor: time('scheduled_for'),
    workerId: name255('worker_id'),
    createdAt: time('created_at').notNull(),
    queuedAt: time('queued_at'),
    startedAt: time('started_at'),
    finishedAt: time('finished_at'),
    updatedAt: time('updated_at').notNull(),
    dispatchPartition: int('dispatch_partition'),
    dispatchOffset: bigint('dispatch_offset', { mode: 'number' }),
    priority: int('priority').notNull().default(5),
    concurrencyKey: name255('concurrency_key'),
  },
  (t) => [
    uniqueIndex('tasks_idempotency_key_uq').on(t.idempotencyKey),
    uniqueIndex('tasks_schedule_uq').on(t.templateId, t.scheduledFor),
    index('tasks_template_id_idx').on(t.templateId, t.id),
    index('tasks_template_status_idx').on(t.templateId, t.status),
    index('tasks_status_id_idx').on(t.status, t.id),
    // The dashboard: a queue's tasks newest first. Counts by queue and status read
    // tasks_admission_idx (its prefix); a created_at range is an id range (domain/ids.ts).
    index('tasks_queue_id_idx').on(t.queue, t.id),
    // Finished tasks by finish time, with their status: the dashboard's finished per minute and the
    // retention purge's range (finished_at < cutoff skips the unfinished rows' NULLs).
    index('tasks_finished_status_idx').on(t.finishedAt, t.status),
    index('tasks_status_run_at_idx').on(t.status, t.runAt),
    index('tasks_status_next_attempt_idx').on(t.status, t.nextAttemptAt),
    index('tasks_status_queued_at_idx').on(t.status, t.queuedAt),
    index('tasks_status_started_at_idx').on(t.status, t.startedAt),
    // Admission: in-flight counts per queue and key, waiting heads per queue, key and priority.
    index('tasks_admission_idx').on(t.queue, t.status, t.concurrencyKey, t.priority, t.id),
  ],
);

export const taskEvents = mysqlTable(
  'task_events',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    taskId: ulid('task_id').notNull(),
    attempt: int('attempt').notNull(),
    type: varchar('type', { length: 32 }).$type<TaskEventRecord['type']>().notNull(),
    at: time('at').notNull(),
    workerId: name255('worker_id'),
    data: json<unknown>('data'),
  },
  (t) => [index('task_events_task_id_idx').on(t.taskId, t.id)],
);

// (sent_at, id): unsent rows (NULL) come first, in id order; prune is a range.
export const outbox = mysqlTable(
  'outbox',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    topic: name255('topic').notNull(),
    key: name255('key').notNull(),
    // A dispatch carries the task's params: TEXT (64 KiB) is too small.
    payload: mediumtext('payload').notNull(),
    createdAt: time('created_at').notNull(),
    sentAt: time('sent_at'),
  },
  (t) => [index('outbox_sent_at_idx').on(t.sentAt, t.id)],
);

export const workers = mysqlTable('workers', {
  id: name255('id').primaryKey(),
  host: name255('host').notNull(),
  pid: int('pid').notNull(),
  queues: json<string[]>('queues').notNull(),
  executors: json<string[]>('executors').notNull(),
  concurrency: int('concurrency').notNull(),
  running: int('running').notNull(),
  version: varchar('version', { length: 64 }).notNull(),
  startedAt: time('started_at').notNull(),
  lastSeen: time('last_seen').notNull(),
  stoppedAt: time('stopped_at'),
});

// One row per lease (e.g. the outbox relay): which replica holds it and until when. A holder
// renews before expires_at; anyone may take it over once it has passed.
export const leases = mysqlTable('leases', {
  name: varchar('name', { length: 64 }).primaryKey(),
  owner: varchar('owner', { length: 200 }).notNull(),
  expiresAt: time('expires_at').notNull(),
});

// A workflow and its counters (see WorkflowRecord). (workflow_template_id, scheduled_for) is the
// exactly-once key of cron-started workflows, as tasks_schedule_uq is for tasks.
export const workflows = mysqlTable(
  'workflows',
  {
    id: ulid('id').primaryKey(),
    name: name255('name').notNull(),
    status: varchar('status', { length: 16 }).$type<WorkflowStatus>().notNull(),
    onFailure: varchar('on_failure', { length: 16 }).$type<WorkflowOnFailure>().notNull(),
    workflowTemplateId: ulid('workflow_template_id'),
    scheduledFor: time('scheduled_for'),
    stepsTotal: int('steps_total').notNull(),
    stepsFinished: int('steps_finished').notNull(),
    stepsCompleted: int('steps_completed').notNull(),
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
export const workflowSteps = mysqlTable(
  'workflow_steps',
  {
    taskId: ulid('task_id').primaryKey(),
    workflowId: ulid('workflow_id').notNull(),
    stepKey: varchar('step_key', { length: 200 }).notNull(),
    position: int('position').notNull(),
    dependsOn: json<string[]>('depends_on').notNull(),
    dependants: json<string[]>('dependants').notNull(),
    depsRemaining: int('deps_remaining').notNull(),
  },
  (t) => [
    uniqueIndex('workflow_steps_key_uq').on(t.workflowId, t.stepKey),
    index('workflow_steps_position_idx').on(t.workflowId, t.position),
  ],
);

// Messages of the `<topic>.dlq` topics, indexed by the manager (kafka/dlq-indexer.ts): the Kafka
// coordinates are unique, so a batch indexed twice (crash before the offset commit) adds nothing.
export const deadLetters = mysqlTable(
  'dead_letters',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    topic: name255('topic').notNull(),
    partition: int('partition').notNull(),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    time: time('time').notNull(),
    indexedAt: time('indexed_at').notNull(),
    reason: text('reason'),
    sourceTopic: name255('source_topic'),
    sourcePartition: int('source_partition'),
    sourceOffset: bigint('source_offset', { mode: 'number' }),
    key: text('key'),
    headers: json<Record<string, string>>('headers').notNull(),
    // Up to the index's cap (1 MiB): TEXT (64 KiB) is too small for a dispatch with its params.
    value: mediumtext('value'),
    valueBytes: int('value_bytes').notNull(),
    truncated: boolean('truncated').notNull(),
  },
  (t) => [
    uniqueIndex('dead_letters_coordinates_uq').on(t.topic, t.partition, t.offset),
    index('dead_letters_topic_idx').on(t.topic, t.id),
    index('dead_letters_source_topic_idx').on(t.sourceTopic, t.id),
    index('dead_letters_indexed_at_idx').on(t.indexedAt),
  ],
);

export const dlqReplays = mysqlTable(
  'dlq_replays',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    deadLetterId: bigint('dead_letter_id', { mode: 'number', unsigned: true }).notNull(),
    at: time('at').notNull(),
    by: varchar('by', { length: 200 }),
    targetTopic: name255('target_topic').notNull(),
    edited: boolean('edited').notNull(),
  },
  (t) => [index('dlq_replays_dead_letter_idx').on(t.deadLetterId)],
);
// Per-queue admission settings (GET/PUT /queues): a row exists once a queue was configured or
// admitted keyed tasks; its row is also the lock (SELECT … FOR UPDATE) that serialises admission.
export const queues = mysqlTable('queues', {
  name: name255('name').primaryKey(),
  /** QUEUED + RUNNING tasks allowed at once; null: unlimited. */
  maxInFlight: int('max_in_flight'),
  paused: boolean('paused').notNull().default(false),
  updatedAt: time('updated_at').notNull(),
});
