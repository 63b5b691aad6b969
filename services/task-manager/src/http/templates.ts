// /templates routes: parse and check the body, call the domain, render snake_case.
import { Hono } from 'hono';
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
import { createTemplateSchema, updateTemplateSchema } from './request-schemas.js';
import type { AppDeps, AppEnv } from './types.js';

const checkCreate = compileBodySchema(createTemplateSchema);
const checkUpdate = compileBodySchema(updateTemplateSchema);

export function templateRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = checkBody(checkCreate, await readJsonObject(c));
    const input = templateInputFromWire(body);
    assertMayUseExecutor(c, input.executor);
    const t = await createTemplate(deps, input);
    return c.json(templateToWire(t), 201);
  });

  app.get('/', async (c) => {
    const items = await listTemplates(deps);
    return c.json({ items: items.map((t) => templateToWire(t)) });
  });

  app.get('/:id', async (c) => {
    const t = await getTemplate(deps, c.req.param('id'));
    return c.json(templateToWire(t, upcomingFires(t, deps.clock.now())));
  });

  app.put('/:id', async (c) => {
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
  });

  app.delete('/:id', async (c) => {
    await deleteTemplate(deps, c.req.param('id'));
    return c.body(null, 204);
  });

  return app;
}
