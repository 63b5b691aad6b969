// /tasks routes, declared (scope, schemas, summary) beside their handlers: create (group-committed),
// batch, list, read, trusted update, cancel, retry, events.
import type { Context } from 'hono';
import {
  DEFAULT_LIMIT,
  MAX_BATCH_TASKS,
  MAX_LIMIT,
  TASK_STATUSES,
  batchEnvelope,
  batchResultSchema,
  createTaskBatchBody,
  createTaskBody,
  listTasksQuery,
  taskHistorySchema,
  taskPageSchema,
  taskSchema,
  updateTaskBody,
} from '@taskwire/contracts';
import type { BatchResult, ErrorBody, TaskStatus } from '@taskwire/contracts';
import { cancelTask } from '../domain/cancel.js';
import { AppError } from '../domain/errors.js';
import { GroupCommit } from '../domain/group-commit.js';
import { summarizeAttempts } from '../domain/history.js';
import {
  attemptToWire,
  eventToWire,
  taskInputFromWire,
  taskToWire,
  taskUpdateFromWire,
} from '../domain/mappers.js';
import { retryTask } from '../domain/manual-retry.js';
import { createTasks, getTask, listTaskEvents, listTasks, updateTask } from '../domain/tasks.js';
import type { CreateOutcome, TaskInput } from '../domain/tasks.js';
import { stepsOfTasks } from '../domain/workflows.js';
import { bodyErrorDetail, checkBody, compileBodySchema, readJsonObject } from './body.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps, AppEnv } from './types.js';

const checkCreate = compileBodySchema(createTaskBody);
const checkBatch = compileBodySchema(batchEnvelope);
const checkUpdate = compileBodySchema(updateTaskBody);

/** POST /tasks waiting for a group commit; more get 503 (20 full batches: ~1-2 s of SQLite writes). */
export const DEFAULT_CREATE_QUEUE_LIMIT = 10_000;

export const taskRoutes = defineRoutes({
  createTask: {
    method: 'POST',
    path: '/tasks',
    tag: 'tasks',
    summary: 'Create a task by task_template_id or template_name; params checked against param_schema',
    access: 'write',
    body: createTaskBody,
    ok: {
      201: ['The new task', taskSchema],
      200: ['The task created earlier with the same idempotency_key', taskSchema],
    },
    errors: [404, 422],
  },
  createTasks: {
    method: 'POST',
    path: '/tasks/batch',
    tag: 'tasks',
    summary: `Up to ${MAX_BATCH_TASKS} tasks in one transaction; valid items are created even when others fail`,
    access: 'write',
    body: createTaskBatchBody,
    ok: {
      200: ['Every item created (or found)', batchResultSchema],
      207: ['Some items failed', batchResultSchema],
    },
  },
  listTasks: {
    method: 'GET',
    path: '/tasks',
    tag: 'tasks',
    summary: 'Tasks, newest first, filtered and paged',
    access: 'read',
    query: listTasksQuery,
    ok: { 200: ['A page of tasks', taskPageSchema] },
    errors: [400],
  },
  getTask: {
    method: 'GET',
    path: '/tasks/:id',
    tag: 'tasks',
    summary: 'One task (a workflow step also shows workflow_id and step_key)',
    access: 'read',
    ok: { 200: ['The task', taskSchema] },
    errors: [404],
  },
  updateTask: {
    method: 'PUT',
    path: '/tasks/:id',
    tag: 'tasks',
    summary:
      'Trusted callers set status/result/error; lifecycle enforced, result checked against result_schema',
    access: 'admin',
    body: updateTaskBody,
    ok: { 200: ['The updated task', taskSchema] },
    errors: [404, 409, 422],
  },
  getTaskEvents: {
    method: 'GET',
    path: '/tasks/:id/events',
    tag: 'tasks',
    summary: 'The history of a task: every event, and each attempt summarised',
    access: 'read',
    ok: { 200: ['Events and attempts', taskHistorySchema] },
    errors: [404],
  },
  cancelTask: {
    method: 'POST',
    path: '/tasks/:id/cancel',
    tag: 'tasks',
    summary: 'PENDING/QUEUED/RETRYING → CANCELED; RUNNING → cancel requested from its worker; finished → 409',
    access: 'write',
    ok: { 200: ['The task (CANCELED, or RUNNING with a cancel requested)', taskSchema] },
    errors: [404, 409],
  },
  retryTask: {
    method: 'POST',
    path: '/tasks/:id/retry',
    tag: 'tasks',
    summary: 'FAILED/TIMED_OUT/CANCELED → a new attempt, QUEUED',
    access: 'write',
    ok: { 200: ['The task, QUEUED', taskSchema] },
    errors: [404, 409],
  },
});

export function taskHandlers(deps: AppDeps): Handlers<typeof taskRoutes> {
  // Concurrent POST /tasks share transactions: N requests in flight cost ~1 commit, not N.
  const creator = new GroupCommit<TaskInput, CreateOutcome>({
    run: (inputs) => createTasks(deps, inputs),
    maxBatch: deps.groupCommit?.maxBatch,
    maxInFlight: deps.groupCommit?.maxInFlight,
    maxQueued: deps.groupCommit?.maxQueued ?? DEFAULT_CREATE_QUEUE_LIMIT,
    minIntervalMs: deps.groupCommit?.minIntervalMs,
  });

  return {
    createTask: async (c) => {
      const body = checkBody(checkCreate, await readJsonObject(c));
      const { task, created } = await creator.submit(taskInputFromWire(body));
      return c.json(taskToWire(task), created ? 201 : 200);
    },

    createTasks: async (c) => {
      const body = checkBody(checkBatch, await readJsonObject(c));
      const items = body.tasks;
      const results: BatchResult['results'] = [];
      const inputs: TaskInput[] = [];
      const slots: number[] = [];
      items.forEach((item, index) => {
        try {
          if (typeof item !== 'object' || item === null || Array.isArray(item)) {
            throw AppError.badRequest(`tasks[${index}] must be a JSON object`, [
              { path: `/tasks/${index}`, message: 'must be object' },
            ]);
          }
          if (!checkCreate(item)) {
            const details = (checkCreate.errors ?? []).map((e) => bodyErrorDetail(e, `/tasks/${index}`));
            throw AppError.badRequest(`invalid task: ${details.map((d) => d.message).join('; ')}`, details);
          }
          inputs.push(taskInputFromWire(item));
          slots.push(index);
        } catch (err) {
          results[index] = { index, ...itemError(deps, err) };
        }
      });
      // One transaction for every valid item; each item still gets its own outcome.
      const outcomes = inputs.length > 0 ? await createTasks(deps, inputs) : [];
      outcomes.forEach((r, k) => {
        const index = slots[k]!;
        results[index] = r.ok
          ? { index, status: r.value.created ? 201 : 200, task: taskToWire(r.value.task) }
          : { index, ...itemError(deps, r.error) };
      });
      const failed = results.some((r) => r.status >= 400);
      return c.json({ results }, failed ? 207 : 200);
    },

    listTasks: async (c) => {
      const page = await listTasks(deps, parseListQuery(c));
      const steps = await stepsOfTasks(
        deps,
        page.items.map((t) => t.id),
      );
      return c.json({
        items: page.items.map((t) => taskToWire(t, steps.get(t.id))),
        next_cursor: page.nextCursor,
      });
    },

    getTask: async (c) => {
      const task = await getTask(deps, c.req.param('id'));
      const steps = await stepsOfTasks(deps, [task.id]);
      return c.json(taskToWire(task, steps.get(task.id)));
    },

    updateTask: async (c) => {
      const body = checkBody(checkUpdate, await readJsonObject(c));
      return c.json(taskToWire(await updateTask(deps, c.req.param('id'), taskUpdateFromWire(body))));
    },

    getTaskEvents: async (c) => {
      const events = await listTaskEvents(deps, c.req.param('id'));
      return c.json({
        items: events.map(eventToWire),
        attempts: summarizeAttempts(events).map(attemptToWire),
      });
    },

    cancelTask: async (c) => c.json(taskToWire(await cancelTask(deps, c.req.param('id')))),
    retryTask: async (c) => c.json(taskToWire(await retryTask(deps, c.req.param('id')))),
  };
}

/** An item's error as its batch result; unexpected ones are logged and shown as internal_error only. */
function itemError(deps: AppDeps, err: unknown): { status: number; error: ErrorBody['error'] } {
  if (!(err instanceof AppError)) {
    deps.logger.error({ err }, 'batch item failed');
    return { status: 500, error: { code: 'internal_error', message: 'internal error', details: null } };
  }
  return { status: err.status, error: { code: err.code, message: err.message, details: err.details } };
}

function parseListQuery(c: Context<AppEnv>): Parameters<typeof listTasks>[1] {
  const q = c.req.query();
  const bad = (field: string, value: string, expected: string): AppError =>
    AppError.badRequest(`${field}=${JSON.stringify(value)} is invalid: expected ${expected}`, [
      { path: field, message: `expected ${expected}` },
    ]);
  let limit = DEFAULT_LIMIT;
  if (q.limit !== undefined) {
    limit = Number(q.limit);
    if (!/^\d+$/.test(q.limit) || limit < 1 || limit > MAX_LIMIT) {
      throw bad('limit', q.limit, `an integer from 1 to ${MAX_LIMIT}`);
    }
  }
  let status: TaskStatus[] | undefined;
  if (q.status !== undefined && q.status !== '') {
    status = q.status.split(',').map((s) => s.trim().toUpperCase()) as TaskStatus[];
    const unknown = status.find((s) => !TASK_STATUSES.includes(s));
    if (unknown !== undefined)
      throw bad('status', q.status, `a comma-separated list of ${TASK_STATUSES.join(', ')}`);
  }
  const date = (field: 'created_from' | 'created_to'): Date | undefined => {
    const v = q[field];
    if (v === undefined || v === '') return undefined;
    const d = new Date(v);
    if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
      throw bad(field, v, 'an ISO 8601 date or date-time');
    return d;
  };
  return {
    status,
    templateId: q.template_id || undefined,
    queue: q.queue || undefined,
    createdFrom: date('created_from'),
    createdTo: date('created_to'),
    cursor: q.cursor || undefined,
    limit,
  };
}
