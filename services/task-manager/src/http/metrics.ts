// The request observer that times every request by route pattern, for GET /metrics (declared in system.ts).
import { matchedRoutes } from 'hono/route';
import type { ManagerMetrics } from '../metrics/index.js';
import type { RequestObserver } from './middleware.js';

/** The label of a request no route served (404s): one series, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Times each request by hono's route pattern (`/tasks/:id`), never the raw path, so ids do not
 * become label values (observeRequests runs it before auth and the body limit: 401s and 413s are
 * timed too).
 */
export function timeRequests(metrics: ManagerMetrics): RequestObserver {
  return (c, ms) => {
    const route = matchedRoutes(c).find((r) => r.method !== 'ALL'); // 'ALL' = middleware
    metrics.httpRequest(c.req.method, route?.path ?? UNMATCHED_ROUTE, c.res.status, ms / 1000);
  };
}
