// Per-request middleware: request id, one access log line, and the body size limit.
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './types.js';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';

/**
 * A request header by its lower-case name. Under @hono/node-server it is read from the Node
 * request: the first `c.req.header()` call builds a web Headers object of every header, a
 * noticeable share of a small request's CPU. Duplicates read as Headers joins them (", ").
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage)) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * X-Request-Id: the client's when it is a sane token (word characters, `-`, `=`; at most 255),
 * else a fresh UUID; set as `requestId` and echoed in the response (as hono's requestId does,
 * without building web Headers for the lookup).
 *
 * Under @hono/node-server the header goes on the Node response, which merges it into whatever
 * the handler answers: `c.header()` would make hono build a web Headers object for every
 * response, and the adapter turn it back into a plain object.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  // Not async: it has nothing to do after the handler, so it hands on next()'s promise as it is.
  return (c, next) => {
    let id = requestHeader(c, 'x-request-id');
    if (!id || id.length > 255 || /[^\w\-=]/.test(id)) id = randomUUID();
    c.set('requestId', id);
    const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
    if (outgoing instanceof ServerResponse) outgoing.setHeader('X-Request-Id', id);
    else c.header('X-Request-Id', id);
    return next();
  };
}

/** Something done with each request once it is answered, given how long it took (ms). */
export type RequestObserver = (c: Context<AppEnv>, ms: number) => void;

/**
 * Times each request once and hands it to every observer (the access log, the metrics): one
 * middleware for all of them, since each layer of hono middleware costs a small request a promise
 * and a dispatch step of its own. Placed before auth and the body limit, so that 401s and 413s are
 * observed too.
 */
export function observeRequests(...observers: RequestObserver[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const ms = performance.now() - start;
      for (const observe of observers) observe(c, ms);
    }
  };
}

/** One line per request: method, path, status, duration_ms, requestId (error for a 500, warn for a 503). */
export function accessLog(logger: Logger): RequestObserver {
  return (c, ms) => {
    const status = c.res.status;
    // A 503 is the database saying "not now" (already logged with its reason): a warning, not a bug.
    const level = status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';
    // Below LOG_LEVEL (info lines under the usual warn): no line to build, no path to read.
    if (!logger.isLevelEnabled(level)) return;
    const line = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round(ms * 1000) / 1000,
    };
    logger[level](line, 'request');
  };
}

/**
 * 413 payload_too_large above `maxBytes`: from Content-Length when present, else by counting a
 * chunked body as it streams in (hono's bodyLimit).
 *
 * Why not hono's bodyLimit for every request: its first step reads `c.req.raw.body`, which makes
 * @hono/node-server build a full web Request (ReadableStream, AbortSignal) for each request, the
 * largest CPU cost of a small POST /tasks. A declared Content-Length needs only the headers.
 */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (): never => {
    throw new AppError(
      'payload_too_large',
      `request body is larger than ${maxBytes} bytes (BODY_LIMIT_BYTES)`,
      {
        limit_bytes: maxBytes,
      },
    );
  };
  const streaming = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const length = requestHeader(c, 'content-length');
    if (length !== undefined && requestHeader(c, 'transfer-encoding') === undefined) {
      if (Number.parseInt(length, 10) > maxBytes) tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}
