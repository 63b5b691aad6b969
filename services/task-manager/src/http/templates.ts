// /templates routes, declared (scope, schemas, summary) beside their handlers: parse and check the
// body, call the domain, render snake_case.
import {
  createTemplateBody,
  templateListSchema,
  templateSchema,
  updateTemplateBody,
} from '@taskwire/contracts';
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  listTemplates,
  updateTemplate,
  upcomingFires,
} from '../domain/templates.js';
import { templateInputFromWire, templateToWire } from '../domain/mappers.js';
import { AppError } from '../domain/errors.js';
import { assertMayUseExecutor, mayUseAnyExecutor } from './auth.js';
import { checkBody, compileBodySchema, readJsonObject } from './body.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps } from './types.js';

const checkCreate = compileBodySchema(createTemplateBody);
const checkUpdate = compileBodySchema(updateTemplateBody);

export const templateRoutes = defineRoutes({
  createTemplate: {
    method: 'POST',
    path: '/templates',
    tag: 'templates',
    summary: 'Create a template (409 on a duplicate name; 422 when default_params break param_schema)',
    access: 'write',
    executorRule: true,
    body: createTemplateBody,
    ok: { 201: ['The template', templateSchema] },
    errors: [409, 422],
  },
  listTemplates: {
    method: 'GET',
    path: '/templates',
    tag: 'templates',
    summary: 'Every template that is not deleted',
    access: 'read',
    ok: { 200: ['The templates', templateListSchema] },
  },
  getTemplate: {
    method: 'GET',
    path: '/templates/:id',
    tag: 'templates',
    summary: 'One template, with next_fire_times',
    access: 'read',
    ok: { 200: ['The template', templateSchema] },
    errors: [404],
  },
  updateTemplate: {
    method: 'PUT',
    path: '/templates/:id',
    tag: 'templates',
    summary: 'Partial update (read-only fields of a GET response are accepted and ignored)',
    access: 'write',
    executorRule: true,
    body: updateTemplateBody,
    ok: { 200: ['The updated template', templateSchema] },
    errors: [404, 409, 422],
  },
  deleteTemplate: {
    method: 'DELETE',
    path: '/templates/:id',
    tag: 'templates',
    summary: 'Soft delete: the template takes no new tasks; its tasks and history stay',
    access: 'write',
    ok: { 204: ['Deleted', null] },
    errors: [404],
  },
});

export function templateHandlers(deps: AppDeps): Handlers<typeof templateRoutes> {
  return {
    createTemplate: async (c) => {
      const body = checkBody(checkCreate, await readJsonObject(c));
      const input = templateInputFromWire(body);
      assertMayUseExecutor(c, input.executor);
      const t = await createTemplate(deps, input);
      return c.json(templateToWire(t), 201);
    },

    listTemplates: async (c) => {
      const items = await listTemplates(deps);
      return c.json({ items: items.map((t) => templateToWire(t)) });
    },

    getTemplate: async (c) => {
      const t = await getTemplate(deps, c.req.param('id'));
      return c.json(templateToWire(t, upcomingFires(t, deps.clock.now())));
    },

    updateTemplate: async (c) => {
      const id = c.req.param('id');
      const body = checkBody(checkUpdate, await readJsonObject(c));
      if (body.id !== undefined && body.id !== id) {
        throw AppError.badRequest(
          `id ${JSON.stringify(body.id)} in the body differs from ${JSON.stringify(id)} in the path`,
          [{ path: '/id', message: 'must equal the id in the path' }],
        );
      }
      const input = templateInputFromWire(body);
      if (!mayUseAnyExecutor(c)) {
        // Both the executor it gets and the one it has: a write token may not edit a shell template.
        assertMayUseExecutor(c, input.executor);
        assertMayUseExecutor(c, (await getTemplate(deps, id)).executor);
      }
      const t = await updateTemplate(deps, id, input);
      return c.json(templateToWire(t));
    },

    deleteTemplate: async (c) => {
      await deleteTemplate(deps, c.req.param('id'));
      return c.body(null, 204);
    },
  };
}
