// The route table: every route the app serves, from the declarations beside each handler, and the
// authorization decision of each (method + hono path -> the scope it needs).
import type { Handler, Hono } from 'hono';
import { dlqRoutes } from './dlq.js';
import { eventRoutes } from './events.js';
import { queueRoutes } from './queues.js';
import type { Handlers, Route, RouteAccess } from './route.js';
import { statsRoutes } from './stats.js';
import { systemRoutes } from './system.js';
import { taskRoutes } from './tasks.js';
import { templateRoutes } from './templates.js';
import { workflowRoutes } from './workflows.js';
import { uiRoutes } from './ui.js';
import type { AppEnv } from './types.js';

/** In registration order: a static segment (`/tasks/batch`) before a parameter (`/tasks/:id`). */
export const ROUTES = {
  ...systemRoutes,
  ...statsRoutes,
  ...templateRoutes,
  ...taskRoutes,
  ...queueRoutes,
  ...eventRoutes,
  ...workflowRoutes,
  ...dlqRoutes,
  ...uiRoutes,
} as const;
export type OperationId = keyof typeof ROUTES;

export interface RouteRule {
  access: RouteAccess;
  executorRule?: true;
}

/** Keyed by `METHOD /path` exactly as hono registers the route (`:id` params). */
export const ROUTE_RULES: Readonly<Record<string, RouteRule>> = Object.fromEntries(
  Object.values(ROUTES as Record<string, Route>).map((r) => [
    `${r.method} ${r.path}`,
    r.executorRule ? { access: r.access, executorRule: true } : { access: r.access },
  ]),
);

/** What a route needs when it has no entry: the most, so that a route mounted outside the table fails closed. */
export const UNLISTED_ROUTE: RouteRule = { access: 'admin' };

export function routeRule(method: string, path: string): RouteRule {
  return ROUTE_RULES[`${method} ${path}`] ?? UNLISTED_ROUTE;
}

/** Registers each declared route with its handler (a missing handler does not compile). */
export function mountRoutes(app: Hono<AppEnv>, handlers: Handlers<typeof ROUTES>): void {
  for (const [id, route] of Object.entries(ROUTES) as Array<[OperationId, Route]>) {
    app.on(route.method, route.path, handlers[id] as Handler<AppEnv>);
  }
}
