// The http executor: one HTTP(S) request through fetch; 5xx/network errors retry, 4xx do not.
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';

export interface HttpParams {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is sent as JSON. */
  body?: unknown;
  /** Per-request timeout (the task's own deadline applies as well). */
  timeout_ms?: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON, else text. */
  body: unknown;
  /** Present (true) when the body was cut at BODY_LIMIT characters. */
  body_truncated?: boolean;
}

/** Larger response bodies are cut: results travel through Kafka and the database. */
const BODY_LIMIT = 1024 * 1024;

/** Client errors that are still worth another attempt (RFC 9110: timeout, rate limit). */
const RETRYABLE_4XX = new Set([408, 425, 429]);

export const httpExecutor = defineExecutor<HttpParams, HttpResult>({
  name: 'http',
  description: 'Sends one HTTP(S) request and returns { status, headers, body }',
  paramsSchema: {
    type: 'object',
    required: ['method', 'url'],
    properties: {
      method: { type: 'string', pattern: '^[A-Za-z]+$' },
      url: { type: 'string', minLength: 1 },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      body: {},
      timeout_ms: { type: 'integer', minimum: 1 },
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
    const headers = new Headers(params.headers);
    let body: string | undefined;
    if (params.body !== undefined && params.body !== null) {
      if (typeof params.body === 'string') body = params.body;
      else {
        body = JSON.stringify(params.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
    }
    const ownTimeout = params.timeout_ms === undefined ? undefined : AbortSignal.timeout(params.timeout_ms);
    const requestSignal = ownTimeout ? AbortSignal.any([signal, ownTimeout]) : signal;
    const what = `http ${method} ${url.href}`;

    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers, body, signal: requestSignal, redirect: 'follow' });
      text = await res.text();
    } catch (err) {
      if (ownTimeout?.aborted && !signal.aborted) {
        throw ExecutorError.retryable(`${what} timed out after ${params.timeout_ms} ms`);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      throw ExecutorError.retryable(`${what} failed: ${detail}`, { code: cause?.code });
    }

    const result: HttpResult = { status: res.status, headers: Object.fromEntries(res.headers), body: text };
    if (text.length > BODY_LIMIT) {
      result.body = text.slice(0, BODY_LIMIT);
      result.body_truncated = true;
    } else if (/[/+]json\b/i.test(res.headers.get('content-type') ?? '') && text.length > 0) {
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
