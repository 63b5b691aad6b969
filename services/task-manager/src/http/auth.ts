// The bearer-token middleware (401/403 by the route table) and the admin-only executor rule of templates.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { AppError } from '../domain/errors.js';
import type { RouteAccess } from './route.js';
import { createTokenVerifier, scopeAllows } from './auth-tokens.js';
import type { ApiToken, Scope } from './auth-tokens.js';
import { requestHeader } from './middleware.js';
import type { AppEnv } from './types.js';

export const REALM = 'taskwire';

/**
 * Executors that reach outside the worker (run programs, call URLs): only `admin` may put them in
 * a template, since anyone who can create tasks from a template can then run them.
 */
export const PRIVILEGED_EXECUTORS: readonly string[] = ['shell', 'http'];

/** The scope the route hono registered as `METHOD path` needs (routes.ts: routeRule). */
export type AccessOf = (method: string, path: string) => { access: RouteAccess };

/** A path no route serves still needs a valid token, so its 404 tells strangers nothing. */
const NO_ROUTE = { access: 'read' } as const;

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else null. */
function bearerToken(c: Context): string | null {
  const header = requestHeader(c, 'authorization');
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Checks the caller's token against the scope the matched route needs (`accessOf`), before any
 * handler or body parsing runs, and sets `scope` for the routes' own finer checks. The route
 * comes from hono's own match, so the decision is made for exactly the handler that will answer.
 */
export function requireToken(tokens: readonly ApiToken[], accessOf: AccessOf): MiddlewareHandler<AppEnv> {
  const verify = createTokenVerifier(tokens);
  return async (c, next) => {
    const route = matchedRoutes(c).find((r) => r.method !== 'ALL'); // 'ALL' = middleware
    const rule = route === undefined ? NO_ROUTE : accessOf(route.method, route.path);
    if (rule.access === 'public') return next();
    const token = bearerToken(c);
    const scope = token === null ? null : verify(token);
    if (scope === null) {
      // RFC 6750 §3: a challenge on every 401; invalid_token only when a token was sent.
      c.header(
        'WWW-Authenticate',
        token === null ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`,
      );
      throw new AppError(
        'unauthorized',
        token === null
          ? 'missing bearer token: send "Authorization: Bearer <token>" with a token from API_TOKENS'
          : 'unknown bearer token',
      );
    }
    if (!scopeAllows(scope, rule.access)) {
      // Named as the README and the OpenAPI document name routes: `PUT /tasks/{id}`.
      const what = route ? `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}` : c.req.path;
      throw forbidden(c, scope, rule.access, what);
    }
    c.set('scope', scope);
    return next();
  };
}

function forbidden(c: Context, held: Scope, needed: Scope, what: string): AppError {
  c.header('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${needed}"`);
  return new AppError('forbidden', `${what} needs a token with scope "${needed}"; this token has "${held}"`, {
    required_scope: needed,
    token_scope: held,
  });
}

/** True when the caller may use every executor: auth is off (no scope set) or the token is admin. */
export function mayUseAnyExecutor(c: Context<AppEnv>): boolean {
  const scope = c.get('scope');
  return scope === undefined || scopeAllows(scope, 'admin');
}

/** 403 naming the executor when a template with it needs more than the caller's token holds. */
export function assertMayUseExecutor(c: Context<AppEnv>, executor: string | undefined): void {
  if (executor === undefined || !PRIVILEGED_EXECUTORS.includes(executor) || mayUseAnyExecutor(c)) return;
  throw forbidden(
    c,
    c.get('scope') as Scope,
    'admin',
    `a template with executor ${JSON.stringify(executor)}`,
  );
}
