// The http executor: one HTTP(S) request to a non-blocked address; 5xx/network errors retry, 4xx do not.
import type { lookup } from 'node:dns';
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';
import type { Executor } from '@taskwire/executor-sdk';
import { AddressPolicy } from './address-policy.js';
import { guardedRequest } from './guarded-request.js';

export interface HttpParams {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is sent as JSON. */
  body?: unknown;
  /** Per-request timeout, redirects included (the task's own deadline applies as well). */
  timeout_ms?: number;
  /** Largest response body accepted; a larger one fails the task (non-retryably). */
  max_body_bytes?: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON, else text. */
  body: unknown;
}

export interface HttpExecutorOptions {
  /**
   * Hostnames, IP addresses and CIDRs that may be reached although they are loopback, private,
   * link-local… (HTTP_EXECUTOR_ALLOW_HOSTS). Empty: only public addresses.
   */
  allowHosts?: readonly string[];
  /**
   * Resolver with `dns.lookup`'s signature, default `dns.lookup` (the system resolver). Every
   * address it returns is checked, and the connection goes to a checked one.
   */
  resolve?: typeof lookup;
}

/** Upper bound of `timeout_ms`: well below the 2^31−1 ms at which Node's timers overflow to 1 ms. */
export const HTTP_MAX_TIMEOUT_MS = 600_000;
/** Default and hard maximum of `max_body_bytes`: results travel through Kafka (900 KiB per message). */
export const HTTP_DEFAULT_BODY_BYTES = 512 * 1024;
export const HTTP_MAX_BODY_BYTES = 768 * 1024;
/** Redirects followed (each one checked like the first request). */
export const HTTP_MAX_REDIRECTS = 5;

/** Client errors that are still worth another attempt (RFC 9110: timeout, rate limit). */
const RETRYABLE_4XX = new Set([408, 425, 429]);

function requestBody(params: HttpParams, headers: Record<string, string>): Buffer | undefined {
  if (params.body === undefined || params.body === null) return undefined;
  if (typeof params.body === 'string') return Buffer.from(params.body);
  if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  return Buffer.from(JSON.stringify(params.body));
}

/**
 * Builds the http executor with its destination policy. Refuses (non-retryably, naming the
 * address) loopback, private, link-local, multicast, unspecified, CGNAT and cloud-metadata
 * destinations, after DNS and on every redirect, unless `allowHosts` lets them through.
 */
export function createHttpExecutor(options: HttpExecutorOptions = {}): Executor<HttpParams, HttpResult> {
  const policy = new AddressPolicy(options.allowHosts ?? []);
  return defineExecutor<HttpParams, HttpResult>({
    name: 'http',
    description:
      'Sends one HTTP(S) request to a public (or allowed) host and returns { status, headers, body }',
    paramsSchema: {
      type: 'object',
      required: ['method', 'url'],
      properties: {
        method: { type: 'string', pattern: '^[A-Za-z]+$' },
        url: { type: 'string', minLength: 1 },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        body: {},
        timeout_ms: { type: 'integer', minimum: 1, maximum: HTTP_MAX_TIMEOUT_MS },
        max_body_bytes: { type: 'integer', minimum: 1, maximum: HTTP_MAX_BODY_BYTES },
      },
    },
    async run({ params, signal }) {
      let url: URL;
      try {
        url = new URL(params.url);
      } catch {
        throw ExecutorError.nonRetryable(`http: url ${JSON.stringify(params.url)} is not a valid URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw ExecutorError.nonRetryable(
          `http: url scheme ${url.protocol} is not allowed (use http: or https:)`,
          {
            url: params.url,
          },
        );
      }
      const method = params.method.toUpperCase();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(params.headers ?? {})) {
        // Framing is ours to set: a wrong content-length or transfer-encoding would hang or split the request.
        const key = name.toLowerCase();
        if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'connection')
          headers[key] = value;
      }
      const body = requestBody(params, headers);
      // Clamped here as well as in the schema: callers that skip validation must not reach Node's overflow.
      const timeoutMs =
        params.timeout_ms === undefined
          ? undefined
          : Math.min(Math.max(params.timeout_ms, 1), HTTP_MAX_TIMEOUT_MS);
      const maxBodyBytes = Math.min(
        Math.max(params.max_body_bytes ?? HTTP_DEFAULT_BODY_BYTES, 1),
        HTTP_MAX_BODY_BYTES,
      );
      const ownTimeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
      const requestSignal = ownTimeout ? AbortSignal.any([signal, ownTimeout]) : signal;
      const what = `http ${method} ${url.href}`;

      let res;
      try {
        res = await guardedRequest(
          {
            method,
            url,
            headers,
            body,
            signal: requestSignal,
            policy,
            maxBodyBytes,
            maxRedirects: HTTP_MAX_REDIRECTS,
            ...(options.resolve ? { resolve: options.resolve } : {}),
          },
          what,
        );
      } catch (err) {
        if (ExecutorError.is(err)) throw err;
        if (ownTimeout?.aborted && !signal.aborted) {
          throw ExecutorError.retryable(`${what} timed out after ${timeoutMs} ms`);
        }
        const e = err as NodeJS.ErrnoException & { cause?: { code?: string } };
        if (e.code === 'ERR_INVALID_CHAR' || e.code === 'ERR_INVALID_HTTP_TOKEN') {
          throw ExecutorError.nonRetryable(`${what}: invalid request: ${e.message}`);
        }
        const code = e.code ?? e.cause?.code;
        throw ExecutorError.retryable(`${what} failed: ${code ?? e.message}`, { code });
      }

      const text = res.body.toString('utf8');
      const result: HttpResult = { status: res.status, headers: res.headers, body: text };
      if (/[/+]json\b/i.test(res.headers['content-type'] ?? '') && text.length > 0) {
        try {
          result.body = JSON.parse(text);
        } catch {
          // A server that says JSON but sends something else: keep the text so the user can see it.
        }
      }
      if (res.status >= 500 || RETRYABLE_4XX.has(res.status)) {
        throw ExecutorError.retryable(`${what} answered ${res.status}`, result);
      }
      if (res.status >= 400) throw ExecutorError.nonRetryable(`${what} answered ${res.status}`, result);
      return result;
    },
  });
}

/** The http executor of a worker without HTTP_EXECUTOR_ALLOW_HOSTS: public addresses only. */
export const httpExecutor = createHttpExecutor();
