// Template rules: defaults, schema/cron/default_params validation, unique names, soft delete.
import { DEFAULT_QUEUE } from '@taskwire/contracts';
import type { MissedFirePolicy, OverlapPolicy } from '@taskwire/contracts';
import type { SchemaCompiler } from '@taskwire/json-schema';
import type { Backoff, TemplatePatch, TemplateRecord, WorkflowSpec } from '../store/types.js';
import { UniqueViolation } from '../store/types.js';
import { DEFAULT_PRIORITY, isJsonPointer } from './concurrency-key.js';
import { cronProblems, nextFireTimes } from './cron.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';
import { newId } from './ids.js';
import { DEFAULT_BACKOFF } from './retry.js';
import { paramSchemaRef, schemaOutboxRow } from './schema-refs.js';
import { assertMatches, checkSchema, compileSchema, schemaCompiler } from './schemas.js';
import { checkDag } from './workflow-dag.js';

/** What a caller may set on a template; on update only the fields present change (null clears). */
export interface TemplateInput {
  name?: string;
  description?: string | null;
  executor?: string;
  queue?: string;
  paramSchema?: Record<string, unknown> | null;
  resultSchema?: Record<string, unknown> | null;
  defaultParams?: Record<string, unknown> | null;
  cronExpression?: string | null;
  cronTimezone?: string | null;
  enabled?: boolean;
  maxAttempts?: number;
  /** Partial: missing fields keep the current (or default) values. */
  backoff?: Partial<Backoff>;
  timeoutMs?: number;
  missedFirePolicy?: MissedFirePolicy;
  overlapPolicy?: OverlapPolicy;
  /** A workflow template (steps, on_failure) instead of an executor; null makes it a task template again. */
  workflow?: WorkflowSpec | null;
  /** Days finished tasks are kept (0: forever); null: RETENTION_DAYS. */
  retentionDays?: number | null;
  priority?: number;
  paused?: boolean;
  concurrencyKey?: string | null;
  concurrencyLimit?: number | null;
}

/** What a workflow template shows as its executor: it has none of its own. */
export const WORKFLOW_EXECUTOR = 'workflow';

export const TEMPLATE_DEFAULTS = {
  queue: DEFAULT_QUEUE,
  enabled: true,
  maxAttempts: 3,
  timeoutMs: 300_000,
  missedFirePolicy: 'skip' as MissedFirePolicy,
  overlapPolicy: 'allow' as OverlapPolicy,
  priority: DEFAULT_PRIORITY,
};

/** How many upcoming fire times GET /templates/{id} shows. */
export const NEXT_FIRE_TIMES = 5;

export async function createTemplate(deps: DomainDeps, input: TemplateInput): Promise<TemplateRecord> {
  if (input.name === undefined)
    throw AppError.badRequest('name is required', [{ path: '/name', message: 'required' }]);
  if (input.executor === undefined && !input.workflow) {
    throw AppError.badRequest('executor (or executor_type) is required, or a workflow', [
      { path: '/executor', message: 'required' },
    ]);
  }
  if (input.workflow && input.executor !== undefined) {
    throw AppError.badRequest('a workflow template has no executor: give either executor or workflow', [
      { path: '/executor', message: 'must be absent with workflow' },
    ]);
  }
  const now = deps.clock.now();
  const record: TemplateRecord = {
    id: newId(now.getTime()),
    name: input.name,
    description: input.description ?? null,
    executor: input.workflow ? WORKFLOW_EXECUTOR : input.executor!,
    queue: input.queue ?? TEMPLATE_DEFAULTS.queue,
    paramSchema: input.paramSchema ?? null,
    resultSchema: input.resultSchema ?? null,
    defaultParams: input.defaultParams ?? null,
    cronExpression: input.cronExpression ?? null,
    cronTimezone: input.cronTimezone ?? null,
    enabled: input.enabled ?? TEMPLATE_DEFAULTS.enabled,
    maxAttempts: input.maxAttempts ?? TEMPLATE_DEFAULTS.maxAttempts,
    backoff: { ...DEFAULT_BACKOFF, ...input.backoff },
    timeoutMs: input.timeoutMs ?? TEMPLATE_DEFAULTS.timeoutMs,
    missedFirePolicy: input.missedFirePolicy ?? TEMPLATE_DEFAULTS.missedFirePolicy,
    overlapPolicy: input.overlapPolicy ?? TEMPLATE_DEFAULTS.overlapPolicy,
    workflow: input.workflow ?? null,
    retentionDays: input.retentionDays ?? null,
    priority: input.priority ?? TEMPLATE_DEFAULTS.priority,
    paused: input.paused ?? false,
    concurrencyKey: input.concurrencyKey ?? null,
    concurrencyLimit: input.concurrencyLimit ?? null,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const schemas = schemaCompiler(deps);
  checkTemplate(record, schemas);
  await assertNameFree(deps, record.name, null);
  compileTemplateSchemas(record, schemas);
  const paramSchema = record.paramSchema;
  try {
    if (paramSchema) {
      // The schema message goes out with the template, in one unit of work: never lost, and in
      // outbox order ahead of every dispatch that names it.
      await deps.store.unitOfWork(async (tx) => {
        await tx.insertTemplate(record);
        await tx.insertOutbox([schemaOutboxRow(paramSchema, now, deps.settings.schemaTopic)]);
      });
    } else await deps.store.insertTemplate(record);
  } catch (err) {
    throw translateUnique(err, record.name);
  }
  if (paramSchema) deps.signals.outboxWritten();
  deps.signals.templatesChanged();
  return record;
}

/** Replaces the fields present in `input`; the result is validated as a whole, like a create. */
export async function updateTemplate(
  deps: DomainDeps,
  id: string,
  input: TemplateInput,
): Promise<TemplateRecord> {
  const current = await getTemplate(deps, id);
  const now = deps.clock.now();
  const patch: TemplatePatch = { ...input, updatedAt: now } as TemplatePatch;
  // Switching between a task template and a workflow template: the executor follows.
  if (input.workflow) patch.executor = input.executor ?? WORKFLOW_EXECUTOR;
  else if (input.workflow === null && current.workflow && input.executor === undefined) {
    throw AppError.badRequest('executor is required when workflow is cleared', [
      { path: '/executor', message: 'required' },
    ]);
  }
  if (input.backoff) patch.backoff = { ...current.backoff, ...input.backoff };
  const next: TemplateRecord = { ...current, ...patch };
  const schemas = schemaCompiler(deps);
  checkTemplate(next, schemas);
  if (next.name !== current.name) await assertNameFree(deps, next.name, id);
  compileTemplateSchemas(next, schemas);
  // A new param_schema is published with the change, in one unit of work (see createTemplate).
  const newSchema =
    input.paramSchema &&
    (!current.paramSchema || paramSchemaRef(input.paramSchema) !== paramSchemaRef(current.paramSchema))
      ? input.paramSchema
      : null;
  let changed: boolean;
  try {
    changed = newSchema
      ? await deps.store.unitOfWork(async (tx) => {
          if (!(await tx.updateTemplate(id, patch))) return false;
          await tx.insertOutbox([schemaOutboxRow(newSchema, now, deps.settings.schemaTopic)]);
          return true;
        })
      : await deps.store.updateTemplate(id, patch);
  } catch (err) {
    throw translateUnique(err, next.name);
  }
  if (!changed) throw AppError.notFound('template', id);
  if (newSchema) deps.signals.outboxWritten();
  deps.signals.templatesChanged();
  // Unpaused, or a limit raised: its waiting tasks may go now (on this replica at once, elsewhere
  // at the next admission sweep).
  deps.signals.admit?.(next.queue);
  return next;
}

export async function getTemplate(deps: DomainDeps, id: string): Promise<TemplateRecord> {
  const t = await deps.store.getTemplate(id);
  if (!t) throw AppError.notFound('template', id);
  return t;
}

export function listTemplates(deps: DomainDeps): Promise<TemplateRecord[]> {
  return deps.store.listTemplates();
}

/**
 * Soft delete. The template disappears from GET and can no longer start tasks (neither by API nor
 * by cron), but its tasks and their events stay readable (a task keeps pointing at the deleted
 * template's row), and its name is free for a new template at once. A hard delete would have to
 * either cascade into the task history (losing the audit trail) or be refused while tasks exist
 * (surprising for a template that ran once a year ago); Sidekiq/Celery users expect history to stay.
 */
export async function deleteTemplate(deps: DomainDeps, id: string): Promise<void> {
  const deleted = await deps.store.deleteTemplate(id, deps.clock.now());
  if (!deleted) throw AppError.notFound('template', id);
  deps.signals.templatesChanged();
}

/** The next fire times of an enabled cron template (empty otherwise). */
export function upcomingFires(t: TemplateRecord, from: Date, n = NEXT_FIRE_TIMES): Date[] {
  if (!t.cronExpression || !t.enabled) return [];
  return nextFireTimes(t.cronExpression, t.cronTimezone, n, from);
}

/**
 * Cross-field rules the request schema cannot express, the cheap ones: the cron expression and time
 * zone parse (400), max_ms >= initial_ms (400), and the schemas are within SCHEMA_MAX_* (413/400),
 * name a supported draft and only regexes RE2 can run (400). Nothing here compiles a schema.
 */
export function checkTemplate(t: TemplateRecord, schemas: SchemaCompiler): void {
  if (t.workflow) {
    if (t.executor !== WORKFLOW_EXECUTOR) {
      throw AppError.badRequest('a workflow template has no executor: give either executor or workflow', [
        { path: '/executor', message: 'must be absent with workflow' },
      ]);
    }
    // The graph now; templates and params of the steps when a workflow is started from it.
    checkDag(
      t.workflow.steps.map((s) => ({
        key: String(s.key),
        dependsOn: (s.depends_on as string[] | undefined) ?? [],
        params: s.params ?? {},
      })),
    );
  }
  if (t.cronExpression !== null || t.cronTimezone !== null) {
    // With no expression the time zone is still checked, so a later expression cannot surprise.
    const problems = cronProblems(t.cronExpression ?? '* * * * *', t.cronTimezone);
    if (problems.length > 0) throw AppError.badRequest(problems.map((p) => p.message).join('; '), problems);
  }
  if (t.backoff.maxMs < t.backoff.initialMs) {
    throw AppError.badRequest(
      `backoff.max_ms ${t.backoff.maxMs} is below backoff.initial_ms ${t.backoff.initialMs}`,
      [{ path: '/backoff/max_ms', message: 'must be >= backoff.initial_ms' }],
    );
  }
  if (t.concurrencyKey !== null && !isJsonPointer(t.concurrencyKey)) {
    const message = `concurrency_key ${JSON.stringify(t.concurrencyKey)} is not a JSON Pointer into params (e.g. "/customer_id")`;
    throw AppError.badRequest(message, [{ path: '/concurrency_key', message }]);
  }
  if (t.paramSchema) checkSchema(schemas, t.paramSchema, 'param_schema');
  if (t.resultSchema) checkSchema(schemas, t.resultSchema, 'result_schema');
}

/**
 * The dear part, run last: the schemas compile (400) and default_params satisfy param_schema (422).
 * Compiling costs up to a few hundred ms for a schema at the limits, so a request that fails for
 * any cheaper reason never gets here.
 */
export function compileTemplateSchemas(t: TemplateRecord, schemas: SchemaCompiler): void {
  if (t.paramSchema) compileSchema(schemas, t.paramSchema, 'param_schema');
  if (t.resultSchema) compileSchema(schemas, t.resultSchema, 'result_schema');
  if (t.paramSchema && t.defaultParams) {
    assertMatches(
      schemas,
      t.paramSchema,
      t.defaultParams,
      'param_schema',
      `default_params do not match the param_schema of template ${JSON.stringify(t.name)}`,
    );
  }
}

/**
 * 409 before compiling when another live template has the name. The store's unique key still
 * decides a race between two requests (translateUnique).
 */
async function assertNameFree(deps: DomainDeps, name: string, self: string | null): Promise<void> {
  const other = await deps.store.getTemplateByName(name);
  if (other && other.deletedAt === null && other.id !== self) throw nameConflict(name);
}

function translateUnique(err: unknown, name: string): unknown {
  if (err instanceof UniqueViolation && err.constraint === 'template_name') return nameConflict(name);
  return err;
}

function nameConflict(name: string): AppError {
  return new AppError('conflict', `a template named ${JSON.stringify(name)} already exists`, {
    field: 'name',
    value: name,
  });
}
