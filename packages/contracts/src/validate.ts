// Compiled validators for Kafka messages: parse bytes, check the schema, name what is wrong.
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  controlMessageSchema,
  dispatchMessageSchema,
  heartbeatMessageSchema,
  resultMessageSchema,
  schemaMessageSchema,
} from './messages.js';
import type {
  ControlMessage,
  DispatchMessage,
  HeartbeatMessage,
  ResultMessage,
  SchemaMessage,
} from './messages.js';

const ajv = new Ajv({ allErrors: true, strict: false });

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Renders ajv errors as one line: "/attempt must be >= 1; must have required property 'v'". */
export function formatAjvErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'invalid';
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
}

/**
 * Each validator is compiled on first use, not at import: a process compiles only the messages it
 * reads (a worker: dispatch and control), and start-up allocates less (an idle worker's young
 * generation stays at half the size, several MB of its RSS).
 */
function lazyValidator<T>(schema: object): () => ValidateFunction<T> {
  let check: ValidateFunction<T> | undefined;
  return () => (check ??= ajv.compile<T>(schema));
}

function decoder<T>(schema: object, name: string): (raw: Buffer | string | null) => Decoded<T> {
  const validator = lazyValidator<T>(schema);
  return (raw) => {
    const check = validator();
    if (raw === null || raw.length === 0) return { ok: false, reason: `${name}: empty message value` };
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
    } catch (err) {
      return { ok: false, reason: `${name}: not JSON (${(err as Error).message})` };
    }
    if (!check(parsed)) return { ok: false, reason: `${name}: ${formatAjvErrors(check.errors)}` };
    return { ok: true, value: parsed };
  };
}

/** The Kafka message kinds whose schema a replayed dead letter must pass. */
export type MessageKind = 'dispatch' | 'result' | 'heartbeat' | 'control';

const checks = {
  dispatch: lazyValidator(dispatchMessageSchema),
  result: lazyValidator(resultMessageSchema),
  heartbeat: lazyValidator(heartbeatMessageSchema),
  control: lazyValidator(controlMessageSchema),
};

/** What is wrong with `value` as a message of `kind`: ajv's errors, none when it is valid. */
export function messageProblems(kind: MessageKind, value: unknown): ErrorObject[] {
  const check = checks[kind]();
  return check(value) ? [] : [...(check.errors ?? [])];
}

export const decodeDispatch = decoder<DispatchMessage>(dispatchMessageSchema, 'dispatch message');
export const decodeResult = decoder<ResultMessage>(resultMessageSchema, 'result message');
export const decodeControl = decoder<ControlMessage>(controlMessageSchema, 'control message');
export const decodeHeartbeat = decoder<HeartbeatMessage>(heartbeatMessageSchema, 'heartbeat message');
export const decodeSchemaMessage = decoder<SchemaMessage>(schemaMessageSchema, 'schema message');
