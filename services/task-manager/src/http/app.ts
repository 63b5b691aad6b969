// The hono app: middleware order, resource routers, the one error renderer.
import { Hono } from 'hono';
import { requireToken } from './auth.js';
import { onError, notFound } from './errors.js';
import { accessLog, limitBody, requestId } from './middleware.js';
import { openApiDocument } from './openapi.js';
import { systemRoutes } from './system.js';
import { taskRoutes } from './tasks.js';
import { templateRoutes } from './templates.js';
import type { AppDeps, AppEnv } from './types.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1_048_576;

/** Builds the API over `deps` (no I/O until a request arrives); tests drive it with app.request(). */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const logger = deps.logger.child({ component: 'http' });
  app.use(requestId());
  app.use(accessLog(logger));
  // Before the body limit: a caller without a token learns nothing, not even a 413.
  if (deps.apiTokens !== undefined && deps.apiTokens.length > 0) app.use(requireToken(deps.apiTokens));
  app.use(limitBody(deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES));
  app.route('/', systemRoutes(deps));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  app.route('/templates', templateRoutes(deps));
  app.route('/tasks', taskRoutes(deps));
  app.onError(onError(logger));
  app.notFound(notFound);
  return app;
}
