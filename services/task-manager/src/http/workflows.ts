// /workflows routes, declared (scope, schemas, summary) beside their handlers: create, list, read, events, cancel, retry.
import type { Context } from 'hono';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  WORKFLOW_STATUSES,
  createWorkflowBody,
  listWorkflowsQuery,
  workflowEventsSchema,
  workflowPageSchema,
  workflowSchema,
} from '@taskwire/contracts';
import { AppError } from '../domain/errors.js';
import {
  eventToWire,
  workflowStepsFromWire,
  workflowSummaryToWire,
  workflowToWire,
} from '../domain/mappers.js';
import {
  cancelWorkflow,
  createWorkflow,
  getWorkflow,
  listWorkflowEvents,
  listWorkflows,
  retryWorkflow,
  startWorkflowTemplate,
} from '../domain/workflows.js';
import type { WorkflowQuery, WorkflowView } from '../domain/workflows.js';
import type { WorkflowStatus } from '../store/types.js';
import { checkBody, compileBodySchema, readJsonObject } from './body.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps, AppEnv } from './types.js';

const checkCreate = compileBodySchema(createWorkflowBody);

export const workflowRoutes = defineRoutes({
  createWorkflow: {
    method: 'POST',
    path: '/workflows',
    tag: 'workflows',
    summary:
      'Create a workflow (a DAG of steps, each a task of a template) from steps or a workflow template: graph, templates and params checked, each error naming its step; nothing is created unless all are valid',
    access: 'write',
    body: createWorkflowBody,
    ok: { 201: ['The workflow, RUNNING, with its steps', workflowSchema] },
    errors: [404, 422],
  },
  listWorkflows: {
    method: 'GET',
    path: '/workflows',
    tag: 'workflows',
    summary: 'Workflows, newest first, filtered by status and name, paged',
    access: 'read',
    query: listWorkflowsQuery,
    ok: { 200: ['A page of workflows (without their steps)', workflowPageSchema] },
    errors: [400],
  },
  getWorkflow: {
    method: 'GET',
    path: '/workflows/:id',
    tag: 'workflows',
    summary: 'One workflow with its steps: status, task ids, attempt, timing',
    access: 'read',
    ok: { 200: ['The workflow', workflowSchema] },
    errors: [404],
  },
  getWorkflowEvents: {
    method: 'GET',
    path: '/workflows/:id/events',
    tag: 'workflows',
    summary: 'The workflow transitions (workflow_started, _completed, _failed, _canceled, _retried)',
    access: 'read',
    ok: { 200: ['Its events, oldest first', workflowEventsSchema] },
    errors: [404],
  },
  cancelWorkflow: {
    method: 'POST',
    path: '/workflows/:id/cancel',
    tag: 'workflows',
    summary: 'RUNNING → CANCELED; unfinished steps are canceled (running ones asked to stop); finished → 409',
    access: 'write',
    ok: { 200: ['The workflow, CANCELED', workflowSchema] },
    errors: [404, 409],
  },
  retryWorkflow: {
    method: 'POST',
    path: '/workflows/:id/retry',
    tag: 'workflows',
    summary: 'FAILED/CANCELED → RUNNING: failed and canceled steps run again, COMPLETED steps are kept',
    access: 'write',
    ok: { 200: ['The workflow, RUNNING', workflowSchema] },
    errors: [404, 409],
  },
});

const render = (v: WorkflowView) => workflowToWire(v.workflow, v.steps);

export function workflowHandlers(deps: AppDeps): Handlers<typeof workflowRoutes> {
  return {
    createWorkflow: async (c) => {
      const body = checkBody(checkCreate, await readJsonObject(c));
      if (body.workflow_template_id !== undefined) {
        if (body.steps !== undefined || body.on_failure !== undefined) {
          throw AppError.badRequest('give either workflow_template_id or steps (and on_failure), not both', [
            { path: '/steps', message: 'must be absent with workflow_template_id' },
          ]);
        }
        return c.json(render(await startWorkflowTemplate(deps, body.workflow_template_id, body.name)), 201);
      }
      if (body.steps === undefined || body.name === undefined) {
        const missing = body.name === undefined ? 'name' : 'steps';
        throw AppError.badRequest(`${missing} is required (or workflow_template_id)`, [
          { path: `/${missing}`, message: 'required' },
        ]);
      }
      const input = { name: body.name, steps: workflowStepsFromWire(body.steps), onFailure: body.on_failure };
      return c.json(render(await createWorkflow(deps, input)), 201);
    },
    listWorkflows: async (c) => {
      const page = await listWorkflows(deps, parseListQuery(c));
      return c.json({ items: page.items.map(workflowSummaryToWire), next_cursor: page.nextCursor });
    },
    getWorkflow: async (c) => c.json(render(await getWorkflow(deps, c.req.param('id')))),
    getWorkflowEvents: async (c) =>
      c.json({ items: (await listWorkflowEvents(deps, c.req.param('id'))).map(eventToWire) }),
    cancelWorkflow: async (c) => c.json(render(await cancelWorkflow(deps, c.req.param('id')))),
    retryWorkflow: async (c) => c.json(render(await retryWorkflow(deps, c.req.param('id')))),
  };
}

function parseListQuery(c: Context<AppEnv>): WorkflowQuery {
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
  let status: WorkflowStatus[] | undefined;
  if (q.status !== undefined && q.status !== '') {
    status = q.status.split(',').map((s) => s.trim().toUpperCase()) as WorkflowStatus[];
    if (status.some((s) => !WORKFLOW_STATUSES.includes(s))) {
      throw bad('status', q.status, `a comma-separated list of ${WORKFLOW_STATUSES.join(', ')}`);
    }
  }
  return { status, name: q.name || undefined, cursor: q.cursor || undefined, limit };
}
