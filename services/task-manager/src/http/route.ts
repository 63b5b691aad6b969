// What a route declares beside its handler: method, path, the scope it needs, its summary, request
// and response schemas. The app mounts, the auth middleware decides and the OpenAPI document is
// generated from these declarations alone.
import type { ERROR_STATUS, ErrorCode, TSchema } from '@taskwire/contracts';
import type { Handler } from 'hono';
import type { Scope } from './auth-tokens.js';
import type { AppEnv } from './types.js';

/** `public` routes answer without a token (probes of orchestrators and load balancers). */
export type RouteAccess = Scope | 'public';
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The full path as hono registers it (`:id` params). */
  path: string;
  tag: 'templates' | 'tasks' | 'queues' | 'workflows' | 'dlq' | 'system';
  summary: string;
  description?: string;
  /** The scope a token needs; a route cannot be declared without deciding it. */
  access: RouteAccess;
  /**
   * The body names an executor: one of PRIVILEGED_EXECUTORS raises the need to `admin` (checked
   * by the handler once the body is parsed, with assertMayUseExecutor).
   */
  executorRule?: true;
  /** The request body's schema (contracts); documents 400 (bad_request, invalid_json) and 413. */
  body?: TSchema;
  /** The query's schema: each property becomes a documented query parameter. */
  query?: TSchema & { properties: Record<string, TSchema> };
  /**
   * Success responses: status → [description, body schema or null for no content, media type when
   * not JSON (`text/plain; version=0.0.4`)].
   */
  ok: Partial<Record<200 | 201 | 202 | 204 | 207, [string, TSchema | null] | [string, TSchema, string]>>;
  /** Error statuses besides 500 (every route), 503 (`database`) and those `body` and `access` add. */
  errors?: ErrorStatus[];
  /** false: never touches the database, so never answers 503. */
  database?: false;
}

/** Declarations keyed by operationId. */
export type Routes = Readonly<Record<string, Route>>;

/** A handler for each declared route: a declaration without one does not compile. */
export type Handlers<R extends Routes> = { [K in keyof R]: Handler<AppEnv, R[K]['path']> };

/** Keeps the literal keys, so Handlers<typeof routes> names every operation. */
export function defineRoutes<const R extends Routes>(routes: R): R {
  return routes;
}
