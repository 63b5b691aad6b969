// Operational routes, declared beside their handlers: liveness, readiness, the worker list, the
// scheduler refresh, the metrics and the OpenAPI document.
import {
  metricsTextSchema,
  openApiDocumentSchema,
  statusSchema,
  workerListSchema,
} from '@taskwire/contracts';
import { AppError } from '../domain/errors.js';
import { workerToWire } from '../domain/mappers.js';
import { RETRY_AFTER_S, StoreUnavailable } from '../store/types.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppDeps } from './types.js';

const DEFAULT_WORKER_DEAD_AFTER_MS = 15_000;

export const systemRoutes = defineRoutes({
  getHealth: {
    method: 'GET',
    path: '/healthz',
    tag: 'system',
    summary: 'Liveness',
    access: 'public',
    database: false,
    ok: { 200: ['Up', statusSchema] },
  },
  getReadiness: {
    method: 'GET',
    path: '/readyz',
    tag: 'system',
    summary: 'Readiness: the database answers and is migrated',
    access: 'public',
    ok: { 200: ['Ready', statusSchema] },
  },
  listWorkers: {
    method: 'GET',
    path: '/workers',
    tag: 'system',
    summary: 'Every worker seen, with alive computed from its last heartbeat',
    access: 'read',
    ok: { 200: ['The workers', workerListSchema] },
  },
  refreshScheduler: {
    method: 'POST',
    path: '/admin/scheduler/refresh',
    tag: 'system',
    summary: 'Re-read every template (changes through the API already apply at once)',
    access: 'admin',
    database: false,
    ok: { 202: ['Refresh requested', statusSchema] },
  },
  getMetrics: {
    method: 'GET',
    path: '/metrics',
    tag: 'system',
    summary: 'Prometheus metrics (text format 0.0.4); the README lists every metric',
    // Prometheus sends a bearer token (`authorization` in its scrape config); operational, like /workers.
    access: 'read',
    ok: { 200: ['The exposition', metricsTextSchema, 'text/plain; version=0.0.4'] },
    errors: [404],
  },
  getOpenApi: {
    method: 'GET',
    path: '/openapi.json',
    tag: 'system',
    summary: 'This document',
    access: 'read',
    database: false,
    ok: { 200: ['The OpenAPI 3.1 document', openApiDocumentSchema] },
  },
});

/** `openApi`: the document, built from every route's declaration (openapi.ts) by the caller. */
export function systemHandlers(deps: AppDeps, openApi: () => object): Handlers<typeof systemRoutes> {
  return {
    // Liveness: the process answers. Never touches the database, so a slow DB does not get us killed.
    getHealth: (c) => c.json({ status: 'ok' }),

    // Readiness: the database answers and is migrated. A 503 carries Retry-After, like every 503.
    getReadiness: async (c) => {
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
    },

    listWorkers: async (c) => {
      const now = deps.clock.now();
      const deadAfter = deps.workerDeadAfterMs ?? DEFAULT_WORKER_DEAD_AFTER_MS;
      const workers = await deps.store.listWorkers();
      return c.json({ items: workers.map((w) => workerToWire(w, now, deadAfter)) });
    },

    // Templates changes already take effect at once; this is for changes made behind the API's back.
    refreshScheduler: (c) => {
      deps.signals.templatesChanged();
      return c.json({ status: 'refresh_requested' }, 202);
    },

    getMetrics: async (c) => {
      const metrics = deps.metricsRegistry;
      if (!metrics) throw new AppError('not_found', 'metrics are not collected by this app');
      return c.body(await metrics.render(), 200, { 'content-type': metrics.contentType });
    },

    getOpenApi: (c) => c.json(openApi()),
  };
}
