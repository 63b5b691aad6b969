// Operational routes: liveness, readiness, the worker list and the scheduler refresh.
import { Hono } from 'hono';
import { AppError } from '../domain/errors.js';
import { workerToWire } from '../domain/mappers.js';
import { RETRY_AFTER_S, StoreUnavailable } from '../store/types.js';
import type { AppDeps, AppEnv } from './types.js';

const DEFAULT_WORKER_DEAD_AFTER_MS = 15_000;

export function systemRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Liveness: the process answers. Never touches the database, so a slow DB does not get us killed.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  // Readiness: the database answers and is migrated. A 503 carries Retry-After, like every 503.
  app.get('/readyz', async (c) => {
    try {
      await deps.store.ping();
    } catch (err) {
      deps.logger.warn({ err }, 'readiness check failed');
      const reason = err instanceof StoreUnavailable ? err.reason : 'unreachable';
      throw new AppError(
        'unavailable',
        `the database is not reachable; retry in ${RETRY_AFTER_S[reason]} s`,
        { reason, retry_after_s: RETRY_AFTER_S[reason] },
        { cause: err },
      );
    }
    return c.json({ status: 'ready' });
  });

  app.get('/workers', async (c) => {
    const now = deps.clock.now();
    const deadAfter = deps.workerDeadAfterMs ?? DEFAULT_WORKER_DEAD_AFTER_MS;
    const workers = await deps.store.listWorkers();
    return c.json({ items: workers.map((w) => workerToWire(w, now, deadAfter)) });
  });

  // Templates changes already take effect at once; this is for changes made behind the API's back.
  app.post('/admin/scheduler/refresh', (c) => {
    deps.signals.templatesChanged();
    return c.json({ status: 'refresh_requested' }, 202);
  });

  return app;
}
