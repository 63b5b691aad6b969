// Request bodies: read JSON (depth and number limits first), reject what is not an object, check it
// against the endpoint's JSON Schema.
import { IncomingMessage } from 'node:http';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Context } from 'hono';
import type { ErrorDetail, Static, TSchema } from '@taskwire/contracts';
import { AppError } from '../domain/errors.js';
import { checkJsonText } from '../domain/json-text.js';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

// Request schemas are ours: strict mode catches mistakes in them; allErrors names every bad field.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);

/** A body schema of contracts compiled; a body it accepts has the schema's derived type. */
export function compileBodySchema<S extends TSchema>(schema: S): ValidateFunction<Static<S>> {
  return ajv.compile<Static<S>>(schema);
}

/** "/backoff/max_ms" -> "backoff.max_ms"; the root is "body". */
function fieldName(pointer: string): string {
  return pointer === '' ? 'body' : pointer.slice(1).replaceAll('/', '.');
}

/** One ajv error as a detail whose path and message name the field (unknown ones included). */
export function bodyErrorDetail(e: ErrorObject, prefix = ''): ErrorDetail {
  let path = prefix + e.instancePath;
  let message: string;
  if (e.keyword === 'additionalProperties') {
    path += `/${String(e.params.additionalProperty)}`;
    message = `${fieldName(path)} is not a known field`;
  } else if (e.keyword === 'required') {
    path += `/${String(e.params.missingProperty)}`;
    message = `${fieldName(path)} is required`;
  } else if (e.keyword === 'enum') {
    message = `${fieldName(path)} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  } else {
    message = `${fieldName(path)} ${e.message ?? 'is invalid'}`;
  }
  return { path, message, keyword: e.keyword, params: e.params };
}

/** Throws bad_request listing every problem, or returns the body typed as checked. */
export function checkBody<T>(validate: ValidateFunction<T>, body: unknown, prefix = ''): T {
  if (validate(body)) return body;
  const details = (validate.errors ?? []).map((e) => bodyErrorDetail(e, prefix));
  throw AppError.badRequest(`invalid request body: ${details.map((d) => d.message).join('; ')}`, details);
}

const utf8 = new TextDecoder();

/**
 * The body as text. Under @hono/node-server a body with a Content-Length (already checked against
 * the limit by limitBody) is read straight from the Node request: `c.req.text()` would first build
 * a web Request and stream around it, several times the cost of the read. Decoded as Request.text()
 * decodes (UTF-8, a leading BOM dropped).
 */
function readText(c: Context): Promise<string> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const direct =
    incoming instanceof IncomingMessage &&
    !incoming.readableDidRead &&
    incoming.headers['content-length'] !== undefined &&
    incoming.headers['transfer-encoding'] === undefined;
  if (!direct) return c.req.text();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => resolve(utf8.decode(Buffer.concat(chunks))));
    incoming.once('error', reject);
    incoming.once('close', () => {
      if (!incoming.complete) reject(new Error('request body aborted by the client'));
    });
  });
}

/**
 * Parses the request body as a JSON object (400 invalid_json / bad_request otherwise). As
 * JSON.parse does: a duplicate key keeps its last value, and a `__proto__` key is an own property
 * like any other (never the object's prototype).
 */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await readText(c);
  if (text.trim() === '') throw new AppError('invalid_json', 'request body is empty: expected a JSON object');
  // Before parsing: 10,000 nested arrays parse fine but break recursive code further on.
  const problem = checkJsonText(text);
  if (problem)
    throw new AppError('invalid_json', `request body is refused: ${problem.message}`, problem.detail);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    throw AppError.badRequest(`request body must be a JSON object, got ${kind}`, [
      { path: '', message: 'must be object' },
    ]);
  }
  return body as Record<string, unknown>;
}
