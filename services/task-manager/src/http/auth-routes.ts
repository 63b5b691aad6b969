// The one route table of the authorization decision: method + hono path pattern -> the scope it needs.
import type { Scope } from './auth-tokens.js';

/** `public` routes answer without a token (probes of orchestrators and load balancers). */
export type RouteAccess = Scope | 'public';

export interface RouteRule {
  access: RouteAccess;
  /**
   * The body names an executor: one of PRIVILEGED_EXECUTORS raises the need to `admin` (checked
   * by the route once the body is parsed, with assertMayUseExecutor).
   */
  executorRule?: true;
}

/**
 * Executors that reach outside the worker (run programs, call URLs): only `admin` may put them in
 * a template, since anyone who can create tasks from a template can then run them.
 */
export const PRIVILEGED_EXECUTORS: readonly string[] = ['shell', 'http'];

/**
 * Keyed by `METHOD /path` exactly as hono registers the route (`:id` params). A route the app
 * serves without an entry here fails auth.int.test.ts, and is refused at run time (admin only).
 */
export const ROUTE_RULES: Readonly<Record<string, RouteRule>> = {
  'GET /healthz': { access: 'public' },
  'GET /readyz': { access: 'public' },
  'GET /openapi.json': { access: 'read' },
  'GET /workers': { access: 'read' },
  'POST /admin/scheduler/refresh': { access: 'admin' },

  'GET /templates': { access: 'read' },
  'GET /templates/:id': { access: 'read' },
  'POST /templates': { access: 'write', executorRule: true },
  'PUT /templates/:id': { access: 'write', executorRule: true },
  'DELETE /templates/:id': { access: 'write' },

  'GET /tasks': { access: 'read' },
  'GET /tasks/:id': { access: 'read' },
  'GET /tasks/:id/events': { access: 'read' },
  'POST /tasks': { access: 'write' },
  'POST /tasks/batch': { access: 'write' },
  'POST /tasks/:id/cancel': { access: 'write' },
  'POST /tasks/:id/retry': { access: 'write' },
  'PUT /tasks/:id': { access: 'admin' },
};

/** What a route needs when it has no entry: the most, so that a forgotten entry fails closed. */
export const UNLISTED_ROUTE: RouteRule = { access: 'admin' };

export function routeRule(method: string, path: string): RouteRule {
  return ROUTE_RULES[`${method} ${path}`] ?? UNLISTED_ROUTE;
}
