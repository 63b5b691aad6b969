// Record builders for the store contract suite: valid defaults, unique ids and names per call.
import { monotonicFactory } from 'ulid';
import type { OutboxRecord, TaskEventRecord, TaskRecord, TemplateRecord, WorkerRecord } from '../types.js';

export const newId = monotonicFactory();

/** A fixed instant with a non-zero millisecond part, far from "now" so tests control time. */
export const T0 = new Date('2030-01-02T03:04:05.678Z');
export const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);

let seq = 0;
export const uniqueName = (prefix: string) =>
  `${prefix}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

export function makeTemplate(overrides: Partial<TemplateRecord> = {}): TemplateRecord {
  return {
    id: newId(),
    name: uniqueName('tpl'),
    description: null,
    executor: 'echo',
    queue: 'default',
    paramSchema: null,
    resultSchema: null,
    defaultParams: null,
    cronExpression: null,
    cronTimezone: null,
    enabled: true,
    maxAttempts: 3,
    backoff: { initialMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.2 },
    timeoutMs: 30_000,
    missedFirePolicy: 'skip',
    overlapPolicy: 'allow',
    workflow: null,
    retentionDays: null,
    priority: 5,
    paused: false,
    concurrencyKey: null,
    concurrencyLimit: null,
    deletedAt: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function makeTask(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: newId(),
    templateId: 'T'.repeat(26),
    name: 'task',
    description: null,
    queue: 'default',
    params: {},
    status: 'QUEUED',
    result: null,
    error: null,
    attempt: 1,
    maxAttempts: 3,
    backoff: null,
    runAt: null,
    nextAttemptAt: null,
    timeoutMs: 30_000,
    idempotencyKey: null,
    trigger: 'api',
    scheduledFor: null,
    workerId: null,
    createdAt: T0,
    queuedAt: T0,
    startedAt: null,
    finishedAt: null,
    updatedAt: T0,
    dispatchPartition: null,
    dispatchOffset: null,
    priority: 5,
    concurrencyKey: null,
    ...overrides,
  };
}

export function makeEvent(taskId: string, overrides: Partial<TaskEventRecord> = {}): TaskEventRecord {
  return { taskId, attempt: 1, type: 'created', at: T0, workerId: null, data: null, ...overrides };
}

export function makeOutbox(key: string, overrides: Partial<OutboxRecord> = {}): OutboxRecord {
  return {
    topic: 'task_execution_requests',
    key,
    payload: JSON.stringify({ v: 1, task_id: key }),
    createdAt: T0,
    ...overrides,
  };
}

export function makeWorker(overrides: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id: uniqueName('worker'),
    host: 'host-a',
    pid: 1234,
    queues: ['default'],
    executors: ['echo', 'sleep'],
    concurrency: 8,
    running: 0,
    version: '0.1.0',
    startedAt: T0,
    lastSeen: T0,
    stoppedAt: null,
    ...overrides,
  };
}

/** Ids in the order given, for comparing lists of records. */
export const ids = (rows: ReadonlyArray<{ id?: string | number }>) => rows.map((r) => r.id);
