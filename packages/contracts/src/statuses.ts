// Task statuses, triggers, event types and the lifecycle graph every service agrees on.

export const TASK_STATUSES = [
  'PENDING',
  'WAITING',
  'QUEUED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'RETRYING',
  'TIMED_OUT',
  'CANCELED',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses after which nothing happens unless a user asks for a manual retry. */
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED'];

/** Statuses a task may be in while it is not yet finished ("in flight"). */
export const ACTIVE_STATUSES: readonly TaskStatus[] = ['PENDING', 'WAITING', 'QUEUED', 'RUNNING', 'RETRYING'];

/**
 * The forward-only lifecycle (DESIGN.md "Task lifecycle"). FAILED and TIMED_OUT may go to RETRYING
 * (automatic retry) and, like CANCELED, to QUEUED through an explicit POST /tasks/{id}/retry.
 * WAITING is where admission holds a task that would be QUEUED while its queue is paused or full,
 * its template paused, its concurrency key at its limit, or older tasks of its priority wait before
 * it; it moves on to QUEUED when admitted.
 */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  PENDING: ['WAITING', 'QUEUED', 'CANCELED'],
  WAITING: ['QUEUED', 'CANCELED'],
  QUEUED: ['RUNNING', 'CANCELED', 'COMPLETED', 'FAILED', 'TIMED_OUT', 'RETRYING'],
  RUNNING: ['COMPLETED', 'FAILED', 'TIMED_OUT', 'RETRYING', 'CANCELED'],
  RETRYING: ['WAITING', 'QUEUED', 'CANCELED'],
  COMPLETED: [],
  FAILED: ['RETRYING'],
  TIMED_OUT: ['RETRYING'],
  CANCELED: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export const TASK_TRIGGERS = ['api', 'cron', 'retry'] as const;
export type TaskTrigger = (typeof TASK_TRIGGERS)[number];

export const TASK_EVENT_TYPES = [
  'created',
  'waiting',
  'queued',
  'started',
  'progress',
  'log',
  'succeeded',
  'failed',
  'retry_scheduled',
  'cancel_requested',
  'canceled',
  'timed_out',
  'ignored',
  'updated',
  // Workflow transitions: their task_id is the workflow's id (GET /workflows/{id}/events).
  'workflow_started',
  'workflow_completed',
  'workflow_failed',
  'workflow_canceled',
  'workflow_retried',
] as const;

export const WORKFLOW_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
export type WorkflowStatusName = (typeof WORKFLOW_STATUSES)[number];
export const WORKFLOW_ON_FAILURE = ['fail_fast', 'continue'] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];
