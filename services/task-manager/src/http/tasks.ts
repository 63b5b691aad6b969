// /tasks routes: create (group-committed), batch, list, read, trusted update, cancel, retry, events.
import { Hono } from 'hono';
import type { Context } from 'hono';
import { TASK_STATUSES } from '@taskwire/contracts';
import type { ErrorBody, TaskStatus } from '@taskwire/contracts';
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
import { bodyErrorDetail, checkBody, compileBodySchema, readJsonObject } from './body.js';
import { batchSchema, createTaskSchema, updateTaskSchema } from './request-schemas.js';
import type { AppDeps, AppEnv } from './types.js';

const checkCreate = compileBodySchema(createTaskSchema);
const checkBatch = compileBodySchema(batchSchema);
const checkUpdate = compileBodySchema(updateTaskSchema);

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** POST /tasks waiting for a group commit; more get 503 (20 full batches: ~1-2 s of SQLite writes). */
export const DEFAULT_CREATE_QUEUE_LIMIT = 10_000;

export function taskRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Concurrent POST /tasks share transactions: N requests in flight cost ~1 commit, not N.
  const creator = new GroupCommit<TaskInput, CreateOutcome>({
    run: (inputs) => createTasks(deps, inputs),
    maxBatch: deps.groupCommit?.maxBatch,
    maxInFlight: deps.groupCommit?.maxInFlight,
    maxQueued: deps.groupCommit?.maxQueued ?? DEFAULT_CREATE_QUEUE_LIMIT,
  });

  app.post('/', async (c) => {
    const body = checkBody(checkCreate, await readJsonObject(c));
    const { task, created } = await creator.submit(taskInputFromWire(body));
    return c.json(taskToWire(task), created ? 201 : 200);
  });

  app.post('/batch', async (c) => {
    const body = checkBody(checkBatch, await readJsonObject(c));
    const items = body.tasks as unknown[];
    const results: Array<{ index: number; status: number; task?: unknown; error?: ErrorBody['error'] }> = [];
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
  });

  app.get('/', async (c) => {
    const page = await listTasks(deps, parseListQuery(c));
    return c.json({ items: page.items.map(taskToWire), next_cursor: page.nextCursor });
  });

  app.get('/:id', async (c) => c.json(taskToWire(await getTask(deps, c.req.param('id')))));

  app.put('/:id', async (c) => {
    const body = checkBody(checkUpdate, await readJsonObject(c));
    return c.json(taskToWire(await updateTask(deps, c.req.param('id'), taskUpdateFromWire(body))));
  });

  app.get('/:id/events', async (c) => {
    const events = await listTaskEvents(deps, c.req.param('id'));
    return c.json({ items: events.map(eventToWire), attempts: summarizeAttempts(events).map(attemptToWire) });
  });

  app.post('/:id/cancel', async (c) => c.json(taskToWire(await cancelTask(deps, c.req.param('id')))));
  app.post('/:id/retry', async (c) => c.json(taskToWire(await retryTask(deps, c.req.param('id')))));

  return app;
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
    createdFrom: date('created_from'),
    createdTo: date('created_to'),
    cursor: q.cursor || undefined,
    limit,
  };
}
