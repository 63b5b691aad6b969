// The one place errors become responses: AppError as itself, a database that cannot serve now as
// 503 with Retry-After, anything unknown as a logged 500.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ErrorBody } from '@taskwire/contracts';
import type { AppEnv } from './types.js';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';
import { StoreUnavailable } from '../store/types.js';

/** Retry-After of a 503 whose error does not say (seconds). */
export const DEFAULT_RETRY_AFTER_S = 1;

export function errorResponse(c: Context, err: AppError): Response {
  const body: ErrorBody = { error: { code: err.code, message: err.message, details: err.details } };
  if (err.status === 503) c.header('Retry-After', String(retryAfterOf(err)));
  return c.json(body, err.status as 400);
}

/** `details.retry_after_s` of an `unavailable` error, else the default. */
function retryAfterOf(err: AppError): number {
  const d = err.details as { retry_after_s?: unknown } | null;
  const s = d && !Array.isArray(d) ? d.retry_after_s : undefined;
  return typeof s === 'number' && Number.isInteger(s) && s > 0 ? s : DEFAULT_RETRY_AFTER_S;
}

/** A store's "not now" as the 503 a client may retry; the message holds no driver internals. */
export function unavailableError(err: StoreUnavailable): AppError {
  return new AppError(
    'unavailable',
    `${err.message}; retry in ${err.retryAfterS} s`,
    { reason: err.reason, retry_after_s: err.retryAfterS },
    { cause: err },
  );
}

/** Renders every error thrown by a handler or middleware; internals never leave the process. */
export function onError(logger: Logger): ErrorHandler<AppEnv> {
  return (err, c) => {
    if (err instanceof AppError) return errorResponse(c, err);
    if (err instanceof StoreUnavailable) {
      // Expected during an outage or a burst: one warn line, no stack, per request.
      logger.warn(
        { reason: err.reason, requestId: c.get('requestId'), method: c.req.method, path: c.req.path },
        err.message,
      );
      return errorResponse(c, unavailableError(err));
    }
    if (err instanceof HTTPException && err.status === 413) {
      return errorResponse(c, new AppError('payload_too_large', 'request body is too large'));
    }
    logger.error(
      { err, requestId: c.get('requestId'), method: c.req.method, path: c.req.path },
      'request failed',
    );
    return errorResponse(c, new AppError('internal_error', 'internal error'));
  };
}

export const notFound: NotFoundHandler = (c) =>
  errorResponse(c, new AppError('not_found', `no route for ${c.req.method} ${c.req.path}`));
