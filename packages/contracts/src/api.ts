// HTTP API resource shapes (wire JSON, snake_case) shared by the manager, tests and clients.
import type { TaskEventType, TaskStatus, TaskTrigger } from './statuses.js';
import type { WireError } from './messages.js';

export interface BackoffPolicy {
  /** First retry delay in ms. */
  initial_ms: number;
  /** Multiplier applied per further attempt. */
  factor: number;
  /** Upper bound of one delay in ms. */
  max_ms: number;
  /** 0–1: each delay is randomised by up to this fraction (full jitter at 1). */
  jitter: number;
}

export const MISSED_FIRE_POLICIES = ['skip', 'run_once'] as const;
export type MissedFirePolicy = (typeof MISSED_FIRE_POLICIES)[number];
export const OVERLAP_POLICIES = ['allow', 'skip'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export interface TemplateResource {
  id: string;
  name: string;
  description: string | null;
  executor: string;
  queue: string;
  param_schema: Record<string, unknown> | null;
  result_schema: Record<string, unknown> | null;
  default_params: Record<string, unknown> | null;
  cron_expression: string | null;
  cron_timezone: string | null;
  enabled: boolean;
  max_attempts: number;
  backoff: BackoffPolicy;
  timeout_ms: number;
  missed_fire_policy: MissedFirePolicy;
  overlap_policy: OverlapPolicy;
  created_at: string;
  updated_at: string;
  /** Only on GET /templates/{id}: the next few cron fire times (ISO, UTC). */
  next_fire_times?: string[];
}

export interface TaskResource {
  id: string;
  template_id: string;
  name: string;
  description: string | null;
  queue: string;
  params: unknown;
  status: TaskStatus;
  result: unknown;
  error: WireError | null;
  attempt: number;
  max_attempts: number;
  backoff: BackoffPolicy | null;
  run_at: string | null;
  next_attempt_at: string | null;
  timeout_ms: number;
  idempotency_key: string | null;
  trigger: TaskTrigger;
  scheduled_for: string | null;
  worker_id: string | null;
  created_at: string;
  queued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface TaskEventResource {
  id: number;
  task_id: string;
  attempt: number;
  type: TaskEventType;
  at: string;
  worker_id: string | null;
  data: unknown;
}

/** One attempt of a task, summarised from its events (GET /tasks/{id}/events → attempts). */
export interface AttemptResource {
  attempt: number;
  worker_id: string | null;
  queued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'canceled' | null;
  error: WireError | null;
  /** Times a worker started this attempt (more than 1 after a redelivery). */
  executions: number;
}

export interface WorkerResource {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  executors: string[];
  concurrency: number;
  running: number;
  version: string;
  started_at: string;
  last_seen: string;
  alive: boolean;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; null at the end. */
  next_cursor: string | null;
}
