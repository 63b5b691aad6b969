// The one place errors become responses: AppError as itself, anything unknown as a logged 500.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ErrorBody } from '@taskwire/contracts';
import type { AppEnv } from './types.js';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';

export function errorResponse(c: Context, err: AppError): Response {
  const body: ErrorBody = { error: { code: err.code, message: err.message, details: err.details } };
  return c.json(body, err.status as 400);
}

/** Renders every error thrown by a handler or middleware; internals never leave the process. */
export function onError(logger: Logger): ErrorHandler<AppEnv> {
  return (err, c) => {
    if (err instanceof AppError) return errorResponse(c, err);
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
