// The middleware that times every request by route pattern, for GET /metrics (declared in system.ts).
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { ManagerMetrics } from '../metrics/index.js';
import type { AppEnv } from './types.js';

/** The label of a request no route served (404s): one series, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Times each request by hono's route pattern (`/tasks/:id`), never the raw path, so ids do not
 * become label values. Placed first, so 401s and 413s are timed too.
 */
export function timeRequests(metrics: ManagerMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const route = matchedRoutes(c).find((r) => r.method !== 'ALL'); // 'ALL' = middleware
      metrics.httpRequest(
        c.req.method,
        route?.path ?? UNMATCHED_ROUTE,
        c.res.status,
        (performance.now() - start) / 1000,
      );
    }
  };
}
