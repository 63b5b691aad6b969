// The hono app: middleware order, the declared routes with their handlers, the one error renderer.
import { Hono } from 'hono';
import { requireToken } from './auth.js';
import { onError, notFound } from './errors.js';
import { timeRequests } from './metrics.js';
import { dlqHandlers } from './dlq.js';
import { eventHandlers } from './events.js';
import { accessLog, limitBody, observeRequests, requestId } from './middleware.js';
import { openApiDocument } from './openapi.js';
import { queueHandlers } from './queues.js';
import { mountRoutes, routeRule } from './routes.js';
import { statsHandlers } from './stats.js';
import { systemHandlers } from './system.js';
import { taskHandlers } from './tasks.js';
import { workflowHandlers } from './workflows.js';
import { templateHandlers } from './templates.js';
import { uiHandlers } from './ui.js';
import type { AppDeps, AppEnv } from './types.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1_048_576;

/** Builds the API over `deps` (no I/O until a request arrives); tests drive it with app.request(). */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const logger = deps.logger.child({ component: 'http' });
  app.use(requestId());
  const timed = deps.metricsRegistry ? [timeRequests(deps.metricsRegistry)] : [];
  app.use(observeRequests(...timed, accessLog(logger)));
  // Before the body limit: a caller without a token learns nothing, not even a 413.
  if (deps.apiTokens !== undefined && deps.apiTokens.length > 0)
    app.use(requireToken(deps.apiTokens, routeRule));
  app.use(limitBody(deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES));
  mountRoutes(app, {
    ...systemHandlers(deps, openApiDocument),
    ...templateHandlers(deps),
    ...taskHandlers(deps),
    ...queueHandlers(deps),
    ...eventHandlers(deps),
    ...workflowHandlers(deps),
    ...dlqHandlers(deps),
    ...statsHandlers(deps),
    ...uiHandlers(deps.uiDir),
  });
  app.onError(onError(logger));
  app.notFound(notFound);
  return app;
}
