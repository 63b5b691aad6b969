// Task rules: creation (params merge + validation, idempotency, queue-or-delay), listing, trusted updates.
import { TASK_STATUSES, canTransition, isTerminal } from '@taskwire/contracts';
import type { TaskStatus, WireError } from '@taskwire/contracts';
import type {
  Backoff,
  OutboxRecord,
  StoreOps,
  TaskEventRecord,
  TaskPatch,
  TaskRecord,
  TemplateRecord,
} from '../store/types.js';
import { UniqueViolation } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { admissionGate, queueOrWait } from './admission.js';
import { concurrencyKeyOf } from './concurrency-key.js';
import { AppError } from './errors.js';
import { DEFAULT_PAYLOAD_LIMITS, assertWithinLimit } from './limits.js';
import type { ItemResult } from './group-commit.js';
import { ULID_PATTERN, idBoundsOfCreated, newId } from './ids.js';
import { endedRun } from './metrics-hooks.js';
import type { CreatedTask } from './metrics-hooks.js';
import { assertMatches, schemaCompiler } from './schemas.js';
import { onTasksEnded, signalStepEffects } from './workflow-advance.js';

export interface TaskInput {
  templateId?: string;
  templateName?: string;
  /** Merged (shallow) over the template's default_params. */
  params?: Record<string, unknown>;
  name?: string;
  description?: string | null;
  /** In the past or absent: queued at once. */
  runAt?: Date;
  idempotencyKey?: string;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Partial override merged over the template's backoff. */
  backoff?: Partial<Backoff>;
  /** 0–9, higher first; default: the template's. */
  priority?: number;
  /** Explicit concurrency key; default: the template's concurrency_key pointer into params. */
  concurrencyKey?: string;
}

export interface TaskUpdateInput {
  status?: TaskStatus;
  /** Present (even null) sets the result. */
  result?: unknown;
  error?: WireError | null;
}

export interface CreateOutcome {
  task: TaskRecord;
  /** false: an earlier task with the same idempotency key was returned instead. */
  created: boolean;
}

interface Prepared {
  task: TaskRecord;
  template: TemplateRecord;
  /** Its `created` event. */
  events: TaskEventRecord[];
  /** Due now: queued or made WAITING in the creating unit of work (else PENDING until run_at). */
  due: boolean;
}

/** Unique-key races with another transaction are retried this many times (then reported). */
const MAX_IDEMPOTENCY_RETRIES = 3;

/**
 * Creates tasks in ONE unit of work, each with its own outcome: an invalid item fails alone. An item
 * whose idempotency key exists (in the store, or earlier in this batch) resolves to that task with
 * created=false. A task due now goes through admission in that unit of work (queueOrWait, one gate
 * for the batch): inserted QUEUED with its `created` and `queued` events and its outbox row when
 * its queue has room, else WAITING with a `waiting` event; a future run_at leaves it PENDING with a
 * `created` event.
 */
export async function createTasks(
  deps: DomainDeps,
  inputs: readonly TaskInput[],
): Promise<ItemResult<CreateOutcome>[]> {
  const now = deps.clock.now();
  const results: Array<ItemResult<CreateOutcome> | undefined> = new Array(inputs.length);
  const templates = await resolveTemplates(deps, inputs);

  const prepared = new Map<number, Prepared>();
  const firstByKey = new Map<string, number>();
  const duplicates: Array<[index: number, of: number]> = [];
  inputs.forEach((input, i) => {
    try {
      const p = prepareTask(deps, input, templates, now);
      const key = p.task.idempotencyKey;
      const first = key === null ? undefined : firstByKey.get(key);
      if (first !== undefined) duplicates.push([i, first]);
      else {
        if (key !== null) firstByKey.set(key, i);
        prepared.set(i, p);
      }
    } catch (err) {
      results[i] = { ok: false, error: err };
    }
  });

  if (prepared.size > 0) {
    const outcomes = await insertPrepared(deps, prepared, [...firstByKey.keys()], now);
    for (const [i, outcome] of outcomes) results[i] = { ok: true, value: outcome };
  }
  for (const [i, of] of duplicates) {
    const r = results[of];
    results[i] = r?.ok ? { ok: true, value: { task: r.value.task, created: false } } : r;
  }

  let queued = false;
  const waiting = new Set<string>();
  let earliest: Date | null = null;
  const created: CreatedTask[] = [];
  const nameOf = templateNames(templates);
  for (const r of results) {
    if (!r?.ok || !r.value.created) continue;
    const t = r.value.task;
    created.push({ template: nameOf(t.templateId), queue: t.queue });
    if (t.status === 'QUEUED') queued = true;
    else if (t.status === 'WAITING') waiting.add(t.queue);
    else if (t.runAt && (!earliest || t.runAt < earliest)) earliest = t.runAt;
  }
  if (created.length > 0) deps.metrics?.tasksCreated(created);
  if (queued) deps.signals.outboxWritten();
  if (earliest) deps.signals.dueAt(earliest);
  for (const q of waiting) deps.signals.admit?.(q);
  return results.map((r) => r ?? { ok: false, error: new Error('task was not processed') });
}

/** Inserts the prepared tasks whose keys are new; retries when another transaction wins a key race. */
async function insertPrepared(
  deps: DomainDeps,
  prepared: Map<number, Prepared>,
  keys: string[],
  now: Date,
): Promise<Map<number, CreateOutcome>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.store.unitOfWork(async (tx) => {
        const existing = new Map<string, TaskRecord>();
        if (keys.length > 0) {
          for (const t of await tx.getTasksByIdempotencyKeys(keys)) existing.set(t.idempotencyKey!, t);
        }
        const out = new Map<number, CreateOutcome>();
        const fresh: Prepared[] = [];
        for (const [i, p] of prepared) {
          const old = p.task.idempotencyKey === null ? undefined : existing.get(p.task.idempotencyKey);
          if (old) out.set(i, { task: old, created: false });
          else {
            fresh.push(p);
            out.set(i, { task: p.task, created: true });
          }
        }
        await writeTasks(deps, tx, fresh, now);
        return out;
      });
    } catch (err) {
      // On MySQL two transactions can both miss a key and race to insert it: the loser re-reads.
      if (err instanceof UniqueViolation && err.constraint === 'task_idempotency_key') {
        if (attempt < MAX_IDEMPOTENCY_RETRIES) continue;
      }
      throw err;
    }
  }
}

/**
 * Admits the due tasks (queueOrWait, one gate: the queues' settings read here, in the unit of
 * work, and their locks taken where a slot is counted), then inserts every row in its status with
 * its events and outbox rows in bulk.
 */
async function writeTasks(deps: DomainDeps, tx: StoreOps, fresh: Prepared[], now: Date): Promise<void> {
  if (fresh.length === 0) return;
  const due = fresh.filter((p) => p.due);
  const collect = { events: [] as TaskEventRecord[], outbox: [] as OutboxRecord[] };
  if (due.length > 0) {
    const gate = admissionGate(tx, now);
    await gate.prepare(due);
    for (const p of due) {
      // Decided afresh: a MySQL unit of work run again after a deadlock repeats this.
      Object.assign(p.task, { status: 'PENDING', queuedAt: null });
      await queueOrWait(tx, p.task, p.template, now, deps.settings, { gate, insert: true, collect });
    }
  }
  await tx.insertTasks(fresh.map((p) => p.task));
  // Each task's `created` before its `queued` or `waiting`.
  await tx.insertEvents([...fresh.flatMap((p) => p.events), ...collect.events]);
  if (collect.outbox.length > 0) await tx.insertOutbox(collect.outbox);
}

interface TemplateLookup {
  byId: Map<string, TemplateRecord>;
  byName: Map<string, TemplateRecord>;
}

/** Template id -> name over both lookups, built on first use (a batch usually names one template). */
function templateNames({ byId, byName }: TemplateLookup): (id: string) => string {
  let names: Map<string, string> | null = null;
  return (id) => {
    names ??= new Map([...byId.values(), ...byName.values()].map((t) => [t.id, t.name]));
    return names.get(id) ?? 'unknown';
  };
}

async function resolveTemplates(deps: DomainDeps, inputs: readonly TaskInput[]): Promise<TemplateLookup> {
  const ids = new Set<string>();
  const names = new Set<string>();
  for (const i of inputs) {
    if (i.templateId !== undefined) ids.add(i.templateId);
    else if (i.templateName !== undefined) names.add(i.templateName);
  }
  const byId = new Map<string, TemplateRecord>();
  const byName = new Map<string, TemplateRecord>();
  if (ids.size > 0) {
    for (const t of await deps.store.getTemplates([...ids])) if (t.deletedAt === null) byId.set(t.id, t);
  }
  for (const name of names) {
    const t = await deps.store.getTemplateByName(name);
    if (t && t.deletedAt === null) byName.set(name, t);
  }
  return { byId, byName };
}

/** run_at may not be earlier than this (older times are typos or zero values, not schedules). */
export const RUN_AT_MIN = new Date('2000-01-01T00:00:00Z');

/**
 * run_at between RUN_AT_MIN and one year after `now` (a task held longer is a cron job, or a bug
 * that would sit in the PENDING index for ever); a time JavaScript cannot represent (a leap second
 * 23:59:60, which the date-time format allows) is refused too.
 */
function checkRunAt(runAt: Date | undefined, now: Date): void {
  if (runAt === undefined) return;
  const max = new Date(now);
  max.setUTCFullYear(max.getUTCFullYear() + 1);
  let problem: string | null = null;
  if (Number.isNaN(runAt.getTime())) problem = 'run_at is not a representable date-time';
  else if (runAt < RUN_AT_MIN) problem = `run_at must not be before ${RUN_AT_MIN.toISOString()}`;
  else if (runAt > max) problem = `run_at must be at most one year ahead (not after ${max.toISOString()})`;
  if (problem) {
    throw AppError.badRequest(problem, [
      { path: '/run_at', message: problem, minimum: RUN_AT_MIN.toISOString(), maximum: max.toISOString() },
    ]);
  }
}

function prepareTask(deps: DomainDeps, input: TaskInput, templates: TemplateLookup, now: Date): Prepared {
  checkRunAt(input.runAt, now);
  let template: TemplateRecord | undefined;
  if (input.templateId !== undefined) {
    template = templates.byId.get(input.templateId);
    if (!template) throw AppError.notFound('template', input.templateId);
    if (input.templateName !== undefined && input.templateName !== template.name) {
      throw AppError.badRequest(
        `template_name ${JSON.stringify(input.templateName)} is not the name of template ${input.templateId}`,
        [{ path: '/template_name', message: 'does not match task_template_id' }],
      );
    }
  } else if (input.templateName !== undefined) {
    template = templates.byName.get(input.templateName);
    if (!template)
      throw new AppError('not_found', `template named ${JSON.stringify(input.templateName)} does not exist`);
  } else {
    throw AppError.badRequest('task_template_id or template_name is required', [
      { path: '/task_template_id', message: 'task_template_id or template_name is required' },
    ]);
  }

  if (template.workflow) {
    throw AppError.badRequest(
      `template ${JSON.stringify(template.name)} is a workflow template: start it with POST /workflows {"workflow_template_id": "${template.id}"}`,
      [
        {
          path: input.templateId !== undefined ? '/task_template_id' : '/template_name',
          message: 'is a workflow template',
        },
      ],
    );
  }
  let backoff: Backoff | null = null;
  if (input.backoff) {
    backoff = { ...template.backoff, ...input.backoff };
    if (backoff.maxMs < backoff.initialMs) {
      throw AppError.badRequest(
        `backoff.max_ms ${backoff.maxMs} is below backoff.initial_ms ${backoff.initialMs}`,
        [{ path: '/backoff/max_ms', message: 'must be >= backoff.initial_ms' }],
      );
    }
  }
  // Disabled templates still accept API tasks: `enabled` only switches the cron trigger off, the
  // way a paused Sidekiq-cron/Celery-beat entry still lets you enqueue the job by hand.
  const params = { ...template.defaultParams, ...input.params };
  assertWithinLimit('params', params, deps.settings.limits ?? DEFAULT_PAYLOAD_LIMITS, 'paramsBytes');
  // Last of the checks: it may compile the template's schema (cached after the first task).
  if (template.paramSchema) {
    assertMatches(
      schemaCompiler(deps),
      template.paramSchema,
      params,
      'param_schema',
      `params do not match the param_schema of template ${JSON.stringify(template.name)}`,
    );
  }

  const delayed = input.runAt !== undefined && input.runAt.getTime() > now.getTime();
  const concurrencyKey = concurrencyKeyOf(input.concurrencyKey, template.concurrencyKey, params);
  const task: TaskRecord = {
    id: newId(now.getTime()),
    templateId: template.id,
    name: input.name ?? template.name,
    description: input.description ?? null,
    queue: template.queue,
    params,
    // Due now too: PENDING until the creating unit of work admits it (QUEUED or WAITING).
    status: 'PENDING',
    result: null,
    error: null,
    attempt: 1,
    maxAttempts: input.maxAttempts ?? template.maxAttempts,
    backoff,
    runAt: input.runAt === undefined ? null : delayed ? input.runAt : now,
    nextAttemptAt: null,
    timeoutMs: input.timeoutMs ?? template.timeoutMs,
    idempotencyKey: input.idempotencyKey ?? null,
    trigger: 'api',
    scheduledFor: null,
    workerId: null,
    createdAt: now,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    dispatchPartition: null,
    dispatchOffset: null,
    priority: input.priority ?? template.priority,
    concurrencyKey,
  };
  const event = (type: TaskEventRecord['type'], data: unknown): TaskEventRecord => ({
    taskId: task.id,
    attempt: 1,
    type,
    at: now,
    workerId: null,
    data,
  });
  const events = [event('created', { trigger: 'api', run_at: task.runAt?.toISOString() ?? null })];
  return { task, template, events, due: !delayed };
}

export async function getTask(deps: DomainDeps, id: string): Promise<TaskRecord> {
  const t = await deps.store.getTask(id);
  if (!t) throw AppError.notFound('task', id);
  return t;
}

export async function listTaskEvents(deps: DomainDeps, id: string): Promise<TaskEventRecord[]> {
  await getTask(deps, id);
  return deps.store.listEvents(id);
}

export interface TaskQuery {
  status?: TaskStatus[];
  templateId?: string;
  queue?: string;
  createdFrom?: Date;
  createdTo?: Date;
  cursor?: string;
  limit: number;
}

/** Newest first. The cursor is the last id of the page: new tasks get greater ids, so pages stay stable. */
export async function listTasks(
  deps: DomainDeps,
  q: TaskQuery,
): Promise<{ items: TaskRecord[]; nextCursor: string | null }> {
  for (const s of q.status ?? []) {
    if (!TASK_STATUSES.includes(s))
      throw AppError.badRequest(`status ${JSON.stringify(s)} is not a task status`);
  }
  const cursorId = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const bounds = idBoundsOfCreated(q.createdFrom, q.createdTo);
  const beforeId =
    cursorId === undefined
      ? bounds.before
      : bounds.before === undefined || cursorId < bounds.before
        ? cursorId
        : bounds.before;
  const rows = await deps.store.listTasks({
    status: q.status,
    templateId: q.templateId,
    queue: q.queue,
    createdFrom: q.createdFrom,
    createdTo: q.createdTo,
    ...(bounds.from !== undefined ? { fromId: bounds.from } : {}),
    beforeId,
    limit: q.limit + 1,
  });
  const items = rows.slice(0, q.limit);
  const more = rows.length > q.limit;
  return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null };
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!ULID_PATTERN.test(id)) {
    throw AppError.badRequest(`cursor ${JSON.stringify(cursor)} is not a cursor returned by GET /tasks`, [
      { path: 'cursor', message: 'invalid cursor' },
    ]);
  }
  return id;
}

/**
 * A trusted caller sets the status and/or result/error. The status must follow the lifecycle
 * (a no-op "move" to the current status is allowed); the result must match the template's
 * result_schema. Moving to QUEUED dispatches the task (outbox); to RETRYING makes it due at once.
 */
export async function updateTask(deps: DomainDeps, id: string, input: TaskUpdateInput): Promise<TaskRecord> {
  const task = await getTask(deps, id);
  const from = task.status;
  const to = input.status ?? from;
  if (to !== from && !canTransition(from, to)) {
    throw new AppError('invalid_transition', `task ${id} cannot move from ${from} to ${to}`, { from, to });
  }
  if (to !== from && isTerminal(from)) {
    // A finished workflow step runs again only through its workflow (whose counters it is in).
    const [step] = await deps.store.getStepsOfTasks([id]);
    if (step) {
      throw new AppError(
        'invalid_transition',
        `task ${id} is step "${step.stepKey}" of workflow ${step.workflowId} and has ended; retry the workflow (POST /workflows/${step.workflowId}/retry)`,
        { from, to, workflow_id: step.workflowId, step_key: step.stepKey },
      );
    }
  }
  const limits = deps.settings.limits ?? DEFAULT_PAYLOAD_LIMITS;
  if (input.result !== undefined) assertWithinLimit('result', input.result, limits, 'resultBytes');
  if (input.error) assertWithinLimit('error', input.error, limits, 'errorBytes');
  const template = await deps.store.getTemplateIncludingDeleted(task.templateId);
  if (input.result !== undefined && template?.resultSchema) {
    assertMatches(
      schemaCompiler(deps),
      template.resultSchema,
      input.result,
      'result_schema',
      `result does not match the result_schema of template ${JSON.stringify(template.name)}`,
    );
  }
  const now = deps.clock.now();
  const patch: TaskPatch = { updatedAt: now };
  if (input.result !== undefined) patch.result = input.result;
  if (input.error !== undefined) patch.error = input.error;
  if (to !== from && to !== 'QUEUED') {
    patch.status = to;
    if (isTerminal(to)) patch.finishedAt = now;
    if (to === 'RUNNING') patch.startedAt = task.startedAt ?? now;
    if (to === 'RETRYING') patch.nextAttemptAt = now;
  }
  let outcome: 'queued' | 'waiting' | null = null;
  const effects = await deps.store.unitOfWork(async (tx) => {
    let queued: TaskRecord | undefined;
    const ok = await tx.updateTask(id, patch, { status: [from], attempt: task.attempt });
    if (ok && to === 'QUEUED' && from !== 'QUEUED') {
      if (!template) throw AppError.conflict(`task ${id} cannot be queued: its template is gone`);
      // A copy: queueTask updates the record it is given, and a unit of work retried after a
      // MySQL deadlock runs this function again from the task as it was read.
      queued = { ...task, ...patch };
      outcome = await queueOrWait(tx, queued, template, now, deps.settings);
    }
    if (!ok) throw AppError.conflict(`task ${id} changed while being updated (it was ${from}); try again`);
    await tx.insertEvents([
      {
        taskId: id,
        attempt: (queued ?? task).attempt,
        type: 'updated',
        at: now,
        workerId: null,
        data: {
          from,
          to,
          ...(input.result !== undefined ? { result: input.result } : {}),
          ...(input.error !== undefined ? { error: input.error } : {}),
        },
      },
    ]);
    // A step of a workflow ended by hand is followed up as if its worker had reported it.
    return patch.finishedAt ? onTasksEnded(tx, deps, [{ ...task, ...patch }]) : null;
  });
  if (effects?.ended.length) deps.metrics?.runsEnded(effects.ended);
  signalStepEffects(deps.signals, effects);
  // A trusted caller ending a run by hand ends it as a worker's result would.
  if (patch.finishedAt) deps.metrics?.runsEnded([endedRun({ ...task, ...patch }, template?.name)]);
  if (outcome === 'queued') deps.signals.outboxWritten();
  if (outcome === 'waiting' || patch.finishedAt || patch.status === 'RETRYING')
    deps.signals.admit?.(task.queue);
  if (to === 'RETRYING' && from !== 'RETRYING') deps.signals.dueAt(now);
  return getTask(deps, id);
}
